namespace LightNet.Autograd;

/// <summary>
/// Multi-head softmax attention built from engine ops (the transformer baseline): causal
/// <c>O = softmax(α Q Kᵀ + M) V</c> with <c>M[t, s] = 0</c> for <c>s ≤ t</c> and a large negative value otherwise,
/// and full (non-causal) <c>O = softmax(α Q Kᵀ) V</c>. Layout [B, H, T, dim]; memory O(B·H·T²).
/// </summary>
public static class SoftmaxAttentionOps
{
    /// <summary>Finite stand-in for −∞ above the diagonal (exp underflows to exactly 0, no NaN in any dtype).</summary>
    private const double Masked = -1e30;

    /// <summary>Causal softmax attention of q, k [B, H, T, d] and v [B, H, T, e] with scale α; returns [B, H, T, e].</summary>
    public static Variable Causal(Variable q, Variable k, Variable v, double scale)
    {
        if (q.Rank != 4 || k.Shape != q.Shape || v.Rank != 4 || v.Size(0) != q.Size(0) || v.Size(1) != q.Size(1) || v.Size(2) != q.Size(2))
            throw new ShapeException($"softmax_attention_causal: expected q, k [B, H, T, d] and v [B, H, T, e]; got q {q.Shape}, k {k.Shape}, v {v.Shape}");
        int T = q.Size(2);
        var bias = new double[T * T];
        for (int t = 0; t < T; t++) for (int s = t + 1; s < T; s++) bias[t * T + s] = Masked;
        using var b64 = Tensor.FromArray(bias, [T, T]);
        using var bt = b64.To(q.DType);
        var scores = Variable.Matmul(q, k.Transpose()) * scale + new Variable(bt.To(q.Device));
        return Variable.Matmul(scores.Softmax(-1), v);
    }

    /// <summary>Full (non-causal) softmax attention of q, k [B, H, T, d] and v [B, H, T, e] with scale α; returns [B, H, T, e].</summary>
    public static Variable Full(Variable q, Variable k, Variable v, double scale)
    {
        if (q.Rank != 4 || k.Shape != q.Shape || v.Rank != 4 || v.Size(0) != q.Size(0) || v.Size(1) != q.Size(1) || v.Size(2) != q.Size(2))
            throw new ShapeException($"softmax_attention_full: expected q, k [B, H, T, d] and v [B, H, T, e]; got q {q.Shape}, k {k.Shape}, v {v.Shape}");
        return Variable.Matmul((Variable.Matmul(q, k.Transpose()) * scale).Softmax(-1), v);
    }
}
