namespace LightNet.Autograd;

/// <summary>Recurrent state of additive attention per layer: S [B, H, d, e] and the running log-normaliser Z [B, H, d].</summary>
public sealed record AdditiveState(Variable S, Variable Z);

/// <summary>
/// LightNet's attention primitives as differentiable ops (SPEC §1). Layout [B, H, T, dim]; an optional
/// padding mask [B, T] (1 = token, 0 = pad) removes pads completely: they do not enter Z, contribute
/// nothing and get output 0. Optional MD-LRPE angles [T, d] apply <c>[x cos Θ, x sin Θ]</c> to q and k̄
/// (SPEC §2); without a mask this runs inside the fused kernels where the backend has them
/// (<see cref="AdditiveAttention.HasFusedKernels"/>), otherwise as a composition of ops with the same result.
/// </summary>
public static class AttentionOps
{
    /// <summary>Stand-in for −∞ in masked keys: finite so that differences of two masked values stay 0, not NaN.</summary>
    private const double MaskedKey = -1e30;

    /// <summary>Gated linear attention (fla chunk_gla): o and the final state (a plain tensor, outside the graph).</summary>
    public static (Variable O, Tensor FinalState) Gated(Variable q, Variable kbar, Variable v, Variable g, double scale, Variable? initialState = null, int chunk = GatedAttention.DefaultChunk)
    {
        var (o, st) = GatedAttention.Forward(q.Data, kbar.Data, v.Data, g.Data, scale, initialState?.Data, chunk);
        Variable[] inputs = initialState == null ? [q, kbar, v, g] : [q, kbar, v, g, initialState];
        var ov = Graph.Record("gated_attention", o, inputs, dO =>
        {
            var (dq, dk, dv, dg, ds0) = GatedAttention.Backward(q.Data, kbar.Data, v.Data, g.Data, scale, initialState?.Data, dO, null, chunk);
            return initialState == null ? [dq, dk, dv, dg] : [dq, dk, dv, dg, ds0];
        });
        return (ov, st);
    }

    /// <summary>[B, T] mask as a [B, 1, T, 1] tensor of the given dtype.</summary>
    private static Tensor Mask4(Tensor mask, Variable like, int T)
    {
        if (mask.Rank != 2 || mask.Size(0) != like.Size(0) || mask.Size(1) != T)
            throw new ShapeException($"additive_attention: 'mask' {mask.Shape} must be [B, T] = [{like.Size(0)}, {T}]");
        using var m = mask.To(like.DType);
        using var md = m.To(like.Device);
        return md.Reshape(like.Size(0), 1, T, 1);
    }

    private static void CheckQkv(string op, Variable q, Variable k, Variable v)
    {
        if (q.Rank != 4 || k.Shape != q.Shape || v.Rank != 4 || v.Size(0) != q.Size(0) || v.Size(1) != q.Size(1) || v.Size(2) != q.Size(2))
            throw new ShapeException($"{op}: expected q, k [B, H, T, d] and v [B, H, T, e]; got q {q.Shape}, k {k.Shape}, v {v.Shape}");
    }

    /// <summary>Causal additive attention; returns o.</summary>
    public static Variable AdditiveCausal(Variable q, Variable k, Variable v, double scale, Tensor? mask = null, int chunk = GatedAttention.DefaultChunk) =>
        AdditiveCausalWithState(q, k, v, scale, mask, null, chunk).O;

    /// <summary>Causal additive attention with a learnable (or given) scale variable (0-d).</summary>
    public static Variable AdditiveCausal(Variable q, Variable k, Variable v, Variable scale, Tensor? mask = null, int chunk = GatedAttention.DefaultChunk) =>
        AdditiveCausalWithState(q, k, v, 1.0, mask, null, chunk).O * scale;

    /// <summary>
    /// Causal additive attention from an optional state, returning o and the state after the last token
    /// (decoding: call with T = 1 and the previous state; the result equals the full forward).
    /// </summary>
    public static (Variable O, AdditiveState State) AdditiveCausalWithState(Variable q, Variable k, Variable v, double scale,
        Tensor? mask = null, AdditiveState? initial = null, int chunk = GatedAttention.DefaultChunk, Tensor? lrpeAngles = null)
    {
        CheckQkv("additive_attention_causal", q, k, v);
        int T = q.Size(2);
        if (T == 0) throw new ShapeException($"additive_attention_causal: empty sequence (q {q.Shape})");
        if (mask == null && (lrpeAngles == null || AdditiveAttention.HasFusedKernels(q.Data))) return Fused(q, k, v, scale, initial, chunk, lrpeAngles);
        var m4 = mask == null ? null : Mask4(mask, q, T); // kept alive: backward rules of Where read it
        var kk = m4 == null ? k : Variable.Where(m4, k, k.Const(MaskedKey));
        Variable Z, Zprev;
        Tensor? hasPrev = null;
        if (initial != null)
        {
            var ext = Variable.Concat([initial.Z.Unsqueeze(2), kk], 2).LogCumSumExp(2);
            Z = ext.Narrow(2, 1, T);
            Zprev = ext.Narrow(2, 0, T);
        }
        else
        {
            Z = kk.LogCumSumExp(2);
            Zprev = T == 1 ? Z : Variable.Concat([Z.Narrow(2, 0, 1), Z.Narrow(2, 0, T - 1)], 2);
            hasPrev = HasPrevious(q, T, m4);
        }
        var kbar = (kk - Z).Exp();
        var g = Zprev - Z;
        if (hasPrev != null) g = g * new Variable(hasPrev);
        var (qq, kb, vv) = MaskAndMap(q, kbar, v, m4, lrpeAngles);
        if (lrpeAngles != null) g = Variable.Concat([g, g], 3);
        var (o, st) = Gated(qq, kb, vv, g, scale, initial?.S, chunk);
        var zLast = new Variable(Z.Data.Select(2, T - 1).Contiguous());
        return (o, new AdditiveState(new Variable(st), zLast));
    }

    /// <summary>Zeroes pads in q, k̄ and v (mask [B, 1, T, 1]) and applies MD-LRPE to q and k̄.</summary>
    private static (Variable Q, Variable Kbar, Variable V) MaskAndMap(Variable q, Variable kbar, Variable v, Tensor? m4, Tensor? angles)
    {
        if (m4 != null)
        {
            var mv = new Variable(m4.Clone());
            kbar = kbar * mv; q = q * mv; v = v * mv;
        }
        return angles == null ? (q, kbar, v) : (q.Lrpe(angles), kbar.Lrpe(angles), v);
    }

    /// <summary>
    /// q, k, v for the fused kernels, made once and kept for the backward (<see cref="AdditiveAttention.Pack"/>): heads split
    /// from a projection stay views in the tokens-major layout where the kernels read it (the causal form without MD-LRPE);
    /// otherwise they are packed heads-major, which costs up to 3 × [B, H, T, d] per layer until the backward.
    /// </summary>
    private static (Tensor Q, Tensor K, Tensor V) Packed(Variable q, Variable k, Variable v, bool anyLayout, Tensor? angles) =>
        anyLayout ? AdditiveAttention.Pack(q.Data, k.Data, v.Data, angles) : (q.Data.Contiguous(), k.Data.Contiguous(), v.Data.Contiguous());

    /// <summary>Whether an op on these inputs records a backward node (so the packed inputs must be kept): <see cref="Graph.Record(string, Tensor, Variable[], Func{Tensor, Tensor?[]})"/>'s rule.</summary>
    private static bool Recording(params Variable?[] inputs) => !NoGrad.IsActive && inputs.Any(v => v is { RequiresGrad: true });

    /// <summary>The fused kernel path (no mask; MD-LRPE inside the kernel when angles are given).</summary>
    private static (Variable O, AdditiveState State) Fused(Variable q, Variable k, Variable v, double scale, AdditiveState? initial, int chunk, Tensor? angles)
    {
        var s0 = initial?.S; var z0 = initial?.Z;
        var (qc, kc, vc) = Packed(q, k, v, anyLayout: true, angles);
        // bfloat16 storage: the CUDA kernels read it as it is; other backends (and MD-LRPE) run on float32 copies (qc…), and o
        // and the input gradients go back to the inputs' dtypes.
        var st = q.DType;
        var ang = angles == null || angles.DType == qc.DType ? angles : angles.To(qc.DType);
        Tensor Stored(Tensor t) => HeadLayouts.Convert(t, st);
        bool recording = Recording(q, k, v, s0, z0);
        // What the forward kernels can hand to the backward (k̄, decays, chunk states), freed once the backward has run.
        var saved = recording ? new AttentionSaved() : null;
        var (o, sT, zT) = AdditiveAttention.CausalForward(qc, kc, vc, scale, s0?.Data, z0?.Data, chunk, ang, saved);
        if (!recording) { qc.Dispose(); kc.Dispose(); vc.Dispose(); }
        Variable[] inputs = initial == null ? [q, k, v] : [q, k, v, s0!, z0!];
        var ov = Graph.Record("additive_attention_causal", Stored(o), inputs, dO =>
        {
            var (dq, dk, dv, ds0, dz0) = AdditiveAttention.CausalBackward(qc, kc, vc, scale, s0?.Data, z0?.Data, dO, chunk, ang, saved);
            saved?.Dispose();
            return initial == null
                ? [Stored(dq), Stored(dk), Stored(dv)]
                : [Stored(dq), Stored(dk), Stored(dv), HeadLayouts.Convert(ds0!, s0!.DType), HeadLayouts.Convert(dz0!, z0!.DType)];
        });
        // The state stays in the kernels' dtype (float32 for bfloat16 q): rounding Z and S between decoding steps would compound.
        return (ov, new AdditiveState(new Variable(sT), new Variable(zT)));
    }

    /// <summary>1 where some real token (or an initial state) precedes position t, else 0: [B or 1, 1, T, 1].</summary>
    private static Tensor HasPrevious(Variable like, int T, Tensor? m4)
    {
        if (m4 == null)
        {
            var h = new double[T];
            for (int t = 1; t < T; t++) h[t] = 1;
            using var ht = Tensor.FromArray(h, [1, 1, T, 1]);
            using var hd = ht.To(like.DType);
            return hd.To(like.Device);
        }
        using var cum = m4.Cumsum(2);
        using var before = cum - m4;
        return before.Gt(0.5);
    }

    /// <summary>Non-causal additive attention <c>O = α Q softmax_T(K)ᵀ V</c> (one order-independent reduction).</summary>
    public static Variable AdditiveNonCausal(Variable q, Variable k, Variable v, double scale, Tensor? mask = null, Tensor? lrpeAngles = null)
    {
        CheckQkv("additive_attention_noncausal", q, k, v);
        int T = q.Size(2);
        if (mask == null && AdditiveAttention.HasFusedKernels(q.Data))
        {
            var (qc, kc, vc) = Packed(q, k, v, anyLayout: false, null);
            var o = AdditiveAttention.NonCausalForward(qc, kc, vc, scale, lrpeAngles);
            if (!Recording(q, k, v)) { qc.Dispose(); kc.Dispose(); vc.Dispose(); }
            return Graph.Record("additive_attention_noncausal", o, [q, k, v], dO =>
            {
                var (dq, dk, dv) = AdditiveAttention.NonCausalBackward(qc, kc, vc, scale, dO, lrpeAngles);
                return [dq, dk, dv];
            });
        }
        var m4 = mask == null ? null : Mask4(mask, q, T); // kept alive: backward rules of Where read it
        var kk = m4 == null ? k : Variable.Where(m4, k, k.Const(MaskedKey));
        var kbar = kk.Softmax(2);
        var (qq, kb, vv) = MaskAndMap(q, kbar, v, m4, lrpeAngles);
        var s = Variable.Matmul(kb.Transpose(-1, -2), vv);
        return Variable.Matmul(qq, s) * scale;
    }
}
