namespace LightNet;

/// <summary>
/// Gated linear attention (fla's <c>chunk_gla</c> semantics) on tensors of layout [B, H, T, dim]:
/// <c>S_t = diag(exp(g_t)) S_{t−1} + k̄_t v_tᵀ</c>, <c>o_t = α S_tᵀ q_t</c>, from an optional initial
/// state S_0 [B, H, d, e]. The additive (LightNet) attention is this op with
/// <c>k̄ = exp(k − Z)</c>, <c>g_t = Z_{t−1} − Z_t</c>.
/// </summary>
public static class GatedAttention
{
    /// <summary>Default chunk length of the block-parallel algorithm.</summary>
    public const int DefaultChunk = 64;

    private static void Validate(string op, Tensor q, Tensor kbar, Tensor v, Tensor g, Tensor? s0)
    {
        if (q.Rank != 4) throw new ShapeException($"{op}: 'q' must be [B, H, T, d], got {q.Shape}");
        if (kbar.Shape != q.Shape) throw new ShapeException($"{op}: 'kbar' {kbar.Shape} must match q {q.Shape}");
        if (g.Shape != q.Shape) throw new ShapeException($"{op}: 'g' {g.Shape} must match q {q.Shape}");
        if (v.Rank != 4 || v.Size(0) != q.Size(0) || v.Size(1) != q.Size(1) || v.Size(2) != q.Size(2))
            throw new ShapeException($"{op}: 'v' {v.Shape} must be [B, H, T, e] with B, H, T of q {q.Shape}");
        foreach (var (t, name) in new[] { (kbar, "kbar"), (v, "v"), (g, "g") })
        {
            Tensor.SameDType(op, q, t, "q", name);
            Tensor.SameDevice(op, q, t, "q", name);
        }
        q.RequireFloating(op, "q");
        if (s0 != null)
        {
            if (s0.Rank != 4 || s0.Size(0) != q.Size(0) || s0.Size(1) != q.Size(1) || s0.Size(2) != q.Size(3) || s0.Size(3) != v.Size(3))
                throw new ShapeException($"{op}: 'initial_state' {s0.Shape} must be [B, H, d, e] = [{q.Size(0)}, {q.Size(1)}, {q.Size(3)}, {v.Size(3)}]");
            Tensor.SameDType(op, q, s0, "q", "initial_state");
            Tensor.SameDevice(op, q, s0, "q", "initial_state");
        }
    }

    private static Tensor Flat(Tensor t) => HeadLayouts.Sequences(t);

    /// <summary>Chunked forward: returns o [B, H, T, e] and the final state [B, H, d, e].</summary>
    public static (Tensor O, Tensor State) Forward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? initialState = null, int chunk = DefaultChunk)
    {
        Validate("gated_attention", q, kbar, v, g, initialState);
        if (chunk <= 0 || chunk % 16 != 0) throw new ShapeException($"gated_attention: chunk must be a positive multiple of 16, got {chunk}");
        int B = q.Size(0), H = q.Size(1), T = q.Size(2), d = q.Size(3), e = v.Size(3);
        using var q3 = Flat(q); using var k3 = Flat(kbar); using var v3 = Flat(v); using var g3 = Flat(g);
        using var s03 = initialState == null ? null : Flat(initialState);
        var o = Tensor.Empty([B, H, T, e], q.DType, q.Device);
        var st = Tensor.Empty([B, H, d, e], q.DType, q.Device);
        using var o3 = o.View(-1, T, e);
        using var st3 = st.View(-1, d, e);
        q.Backend.GatedAttentionForward(q3, k3, v3, g3, scale, s03, o3, st3, chunk);
        return (o, st);
    }

    /// <summary>Gradients of <c>Σ o⊙dO + Σ S_T⊙dS_T</c>: (dq, dk̄, dv, dg, dS_0 or null).</summary>
    public static (Tensor Dq, Tensor Dkbar, Tensor Dv, Tensor Dg, Tensor? DState) Backward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale,
        Tensor? initialState, Tensor dO, Tensor? dFinalState, int chunk = DefaultChunk)
    {
        Validate("gated_attention_backward", q, kbar, v, g, initialState);
        int B = q.Size(0), H = q.Size(1), T = q.Size(2), d = q.Size(3), e = v.Size(3);
        if (dO.Shape != new Shape(B, H, T, e)) throw new ShapeException($"gated_attention_backward: 'dO' {dO.Shape} must be [{B}, {H}, {T}, {e}]");
        if (dFinalState != null && dFinalState.Shape != new Shape(B, H, d, e)) throw new ShapeException($"gated_attention_backward: 'dFinalState' {dFinalState.Shape} must be [{B}, {H}, {d}, {e}]");
        using var q3 = Flat(q); using var k3 = Flat(kbar); using var v3 = Flat(v); using var g3 = Flat(g); using var do3 = Flat(dO);
        using var s03 = initialState == null ? null : Flat(initialState);
        using var dst3 = dFinalState == null ? null : Flat(dFinalState);
        var dq = q.EmptyLike(); var dk = q.EmptyLike(); var dg = q.EmptyLike(); var dv = v.EmptyLike();
        var ds0 = initialState == null ? null : Tensor.Empty([B, H, d, e], q.DType, q.Device);
        using var dq3 = dq.View(-1, T, d); using var dk3 = dk.View(-1, T, d); using var dg3 = dg.View(-1, T, d); using var dv3 = dv.View(-1, T, e);
        using var ds03 = ds0?.View(-1, d, e);
        q.Backend.GatedAttentionBackward(q3, k3, v3, g3, scale, s03, do3, dst3, dq3, dk3, dv3, dg3, ds03, chunk);
        return (dq, dk, dv, dg, ds0);
    }

    /// <summary>The naive token-by-token recurrence in float64 (reference and decoding check); returns o and the final state.</summary>
    public static (Tensor O, Tensor State) Recurrent(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? initialState = null)
    {
        Validate("gated_attention_recurrent", q, kbar, v, g, initialState);
        int B = q.Size(0), H = q.Size(1), T = q.Size(2), d = q.Size(3), e = v.Size(3);
        var qa = q.ToDoubleArray(); var ka = kbar.ToDoubleArray(); var va = v.ToDoubleArray(); var ga = g.ToDoubleArray();
        var s0 = initialState?.ToDoubleArray();
        var o = new double[B * H * T * e];
        var st = new double[B * H * d * e];
        for (int n = 0; n < B * H; n++)
        {
            var S = new double[d * e];
            if (s0 != null) Array.Copy(s0, n * d * e, S, 0, d * e);
            for (int t = 0; t < T; t++)
            {
                long qo = ((long)n * T + t) * d, vo = ((long)n * T + t) * e;
                for (int i = 0; i < d; i++)
                {
                    double lam = Math.Exp(ga[qo + i]), kb = ka[qo + i];
                    for (int j = 0; j < e; j++) S[i * e + j] = lam * S[i * e + j] + kb * va[vo + j];
                }
                for (int j = 0; j < e; j++)
                {
                    double acc = 0;
                    for (int i = 0; i < d; i++) acc += S[i * e + j] * qa[qo + i];
                    o[vo + j] = scale * acc;
                }
            }
            Array.Copy(S, 0, st, n * d * e, d * e);
        }
        using var oh = Tensor.FromArray(o, [B, H, T, e]);
        using var sh = Tensor.FromArray(st, [B, H, d, e]);
        using var oc = oh.To(q.DType);
        using var sc = sh.To(q.DType);
        return (oc.To(q.Device), sc.To(q.Device));
    }
}
