namespace LightNet;

/// <summary>
/// LightNet's causal additive attention as one fused op on [B, H, T, dim] tensors (SPEC §1): the running
/// log-normaliser Z, the normalised keys k̄ = exp(k − Z) and the decays exp(Z_{t−1} − Z_t) are formed
/// chunk by chunk inside the kernel, and the backward uses the closed form
/// <c>dk_t = k̄_t ⊙ (dk̄_t − w_t)</c>. Optional initial state (S_0 [B, H, d, e], Z_0 [B, H, d]). Optional MD-LRPE
/// angles [T, d] (<see cref="MdLrpe.Angles"/>) are applied to q and k̄ inside the kernel; the state S is then
/// [B, H, 2d, e]. The non-causal form <c>O = α φ(Q) φ(softmax_T(K))ᵀ V</c> is one kernel too.
/// </summary>
public static class AdditiveAttention
{
    /// <summary>True when q's backend runs MD-LRPE and the non-causal form as fused kernels (else compose them from ops).</summary>
    public static bool HasFusedKernels(Tensor q) => q.Backend is IFusedAttentionBackend;

    private static IFusedAttentionBackend Fused(string op, Tensor q) =>
        q.Backend as IFusedAttentionBackend ?? throw new NotSupportedException($"{op}: the {q.Device} backend has no fused kernel (check AdditiveAttention.HasFusedKernels and compose from ops)");

    private static void ValidateAngles(string op, Tensor q, Tensor? angles)
    {
        if (angles == null) return;
        if (angles.Shape != new Shape(q.Size(2), q.Size(3)))
            throw new ShapeException($"{op}: 'angles' {angles.Shape} must be [T, d] = [{q.Size(2)}, {q.Size(3)}] for q {q.Shape}");
        Tensor.SameDType(op, q, angles, "q", "angles");
        Tensor.SameDevice(op, q, angles, "q", "angles");
    }

    private static void Validate(string op, Tensor q, Tensor k, Tensor v, Tensor? s0, Tensor? z0, Tensor? angles = null)
    {
        if (q.Rank != 4 || k.Shape != q.Shape || v.Rank != 4 || v.Size(0) != q.Size(0) || v.Size(1) != q.Size(1) || v.Size(2) != q.Size(2))
            throw new ShapeException($"{op}: expected q, k [B, H, T, d] and v [B, H, T, e]; got q {q.Shape}, k {k.Shape}, v {v.Shape}");
        if (q.Size(2) == 0) throw new ShapeException($"{op}: empty sequence (q {q.Shape})");
        q.RequireFloating(op, "q");
        foreach (var (t, name) in new[] { (k, "k"), (v, "v") })
        {
            Tensor.SameDType(op, q, t, "q", name);
            Tensor.SameDevice(op, q, t, "q", name);
        }
        if ((s0 == null) != (z0 == null)) throw new ShapeException($"{op}: an initial state needs both S and Z");
        int rows = angles == null ? q.Size(3) : 2 * q.Size(3);
        if (s0 != null && s0.Shape != new Shape(q.Size(0), q.Size(1), rows, v.Size(3)))
            throw new ShapeException($"{op}: initial 'S' {s0.Shape} must be [{q.Size(0)}, {q.Size(1)}, {rows}, {v.Size(3)}]");
        if (z0 != null && z0.Shape != new Shape(q.Size(0), q.Size(1), q.Size(3)))
            throw new ShapeException($"{op}: initial 'Z' {z0.Shape} must be [{q.Size(0)}, {q.Size(1)}, {q.Size(3)}]");
        ValidateAngles(op, q, angles);
    }

    private static Tensor Flat3(Tensor t) => HeadLayouts.Sequences(t);
    private static Tensor? State(Tensor? s, DType dt)
    {
        if (s == null) return null;
        using var c = s.To(dt);
        return c.Contiguous();
    }
    private static Tensor Flat2(Tensor t) { using var c = t.Contiguous(); return c.View(-1, t.Size(2)); }

    /// <summary>
    /// q, k and v as the kernels read them, views where they already are: without MD-LRPE q and k in q's
    /// <see cref="HeadLayout"/> and v in its own (no head copies around a projection), with it all heads-major; in the dtype
    /// the backend's kernels take (<see cref="IBackend.AdditiveOperandDType"/>: bfloat16 itself on the GPU, else
    /// <see cref="DTypeInfo.Accumulation"/>, converted on the way in and out; with MD-LRPE always the accumulation dtype).
    /// Passing the result to <see cref="CausalForward"/> / <see cref="CausalBackward"/> copies nothing again.
    /// </summary>
    public static (Tensor Q, Tensor K, Tensor V) Pack(Tensor q, Tensor k, Tensor v, Tensor? angles = null)
    {
        var kl = angles == null ? HeadLayouts.Common(q) : HeadLayout.HeadsMajor;
        var vl = angles == null ? HeadLayouts.Common(v) : HeadLayout.HeadsMajor;
        var dt = angles == null ? q.Backend.AdditiveOperandDType(q.DType) : q.DType.Accumulation();
        return (HeadLayouts.In(q, kl, dt), HeadLayouts.In(k, kl, dt), HeadLayouts.In(v, vl, dt));
    }

    /// <summary>
    /// Forward: o [B, H, T, e] (in v's layout and q's dtype), final S [B, H, d or 2d, e] and final Z [B, H, d] (in the
    /// accumulation dtype: float32 for bfloat16 q, so a state carried across calls is not rounded; so are S0 and Z0 given). With <paramref name="save"/> the
    /// backend may keep what <see cref="CausalBackward"/> (called with it and the same inputs) would otherwise recompute.
    /// </summary>
    public static (Tensor O, Tensor S, Tensor Z) CausalForward(Tensor q, Tensor k, Tensor v, double scale, Tensor? s0 = null, Tensor? z0 = null,
        int chunk = GatedAttention.DefaultChunk, Tensor? angles = null, AttentionSaved? save = null)
    {
        Validate("additive_attention_causal", q, k, v, s0, z0, angles);
        if (chunk <= 0 || chunk % 16 != 0) throw new ShapeException($"additive_attention_causal: chunk must be a positive multiple of 16, got {chunk}");
        int B = q.Size(0), H = q.Size(1), T = q.Size(2), d = q.Size(3), e = v.Size(3);
        int D = angles == null ? d : 2 * d;
        var (qp, kp, vp) = Pack(q, k, v, angles);
        // converted inputs (bfloat16) go to the backward with the backend's saved tensors instead of being converted again
        bool keepPacked = save != null && qp.DType != q.DType;
        using var _q = keepPacked ? null : qp; using var _k = keepPacked ? null : kp; using var _v = keepPacked ? null : vp;
        if (keepPacked) save!.KeepPacked([q, k, v], [qp, kp, vp]);
        else save?.KeepPacked([], []); // copies kept by an earlier call are stale
        var dt = qp.DType.Accumulation();
        var o = HeadLayouts.Empty(HeadLayouts.Common(vp), B, H, T, e, qp.DType, q.Device);
        var sT = Tensor.Empty([B, H, D, e], dt, q.Device);
        var zT = Tensor.Empty([B, H, d], dt, q.Device);
        using var s4 = State(s0, dt); using var z3 = State(z0, dt);
        if (angles == null)
        {
            q.Backend.AdditiveCausalForward(qp, kp, vp, scale, s4, z3, o, sT, zT, chunk, save);
            return (HeadLayouts.Convert(o, q.DType), sT, zT);
        }
        using var q3 = Flat3(qp); using var k3 = Flat3(kp); using var v3 = Flat3(vp);
        using var s3 = s4 == null ? null : Flat3(s4);
        using var z2 = z3 == null ? null : Flat2(z3);
        using var o3 = o.View(-1, T, e); using var sT3 = sT.View(-1, D, e); using var zT2 = zT.View(-1, d);
        using var a = State(angles, dt)!;
        Fused("additive_attention_causal", q).AdditiveCausalLrpeForward(q3, k3, v3, a, scale, s3, z2, o3, sT3, zT2, chunk);
        return (HeadLayouts.Convert(o, q.DType), sT, zT);
    }

    /// <summary>
    /// Backward of <see cref="CausalForward"/> for the output gradient dO: (dq, dk in q's layout, dv in v's, dS0, dZ0).
    /// <paramref name="saved"/>: what the forward on the same inputs kept, or null (recompute).
    /// </summary>
    public static (Tensor Dq, Tensor Dk, Tensor Dv, Tensor? DS0, Tensor? DZ0) CausalBackward(Tensor q, Tensor k, Tensor v, double scale, Tensor? s0, Tensor? z0, Tensor dO,
        int chunk = GatedAttention.DefaultChunk, Tensor? angles = null, AttentionSaved? saved = null)
    {
        Validate("additive_attention_causal_backward", q, k, v, s0, z0, angles);
        int B = q.Size(0), H = q.Size(1), T = q.Size(2), d = q.Size(3), e = v.Size(3);
        if (dO.Shape != new Shape(B, H, T, e)) throw new ShapeException($"additive_attention_causal_backward: 'dO' {dO.Shape} must be [{B}, {H}, {T}, {e}]");
        int D = angles == null ? d : 2 * d;
        var kept = saved?.Packed(q, k, v);
        var (qp, kp, vp) = kept != null ? (kept[0], kept[1], kept[2]) : Pack(q, k, v, angles);
        using var _q = kept != null ? null : qp; using var _k = kept != null ? null : kp; using var _v = kept != null ? null : vp;
        HeadLayout kl = HeadLayouts.Common(qp), vl = HeadLayouts.Common(vp);
        var dt = qp.DType.Accumulation();
        using var dOp = HeadLayouts.In(dO, vl, qp.DType);
        var dq = HeadLayouts.Empty(kl, B, H, T, d, qp.DType, q.Device);
        var dk = HeadLayouts.Empty(kl, B, H, T, d, qp.DType, q.Device);
        var dv = HeadLayouts.Empty(vl, B, H, T, e, qp.DType, q.Device);
        var ds0 = s0 == null ? null : Tensor.Empty([B, H, D, e], dt, q.Device);
        var dz0 = z0 == null ? null : Tensor.Empty([B, H, d], dt, q.Device);
        using var s4 = State(s0, dt); using var z3 = State(z0, dt);
        if (angles == null)
        {
            q.Backend.AdditiveCausalBackward(qp, kp, vp, scale, s4, z3, dOp, dq, dk, dv, ds0, dz0, chunk, saved);
            return Stored(q, s0, z0, dq, dk, dv, ds0, dz0);
        }
        using var q3 = Flat3(qp); using var k3 = Flat3(kp); using var v3 = Flat3(vp); using var do3 = Flat3(dOp);
        using var s3 = s4 == null ? null : Flat3(s4);
        using var z2 = z3 == null ? null : Flat2(z3);
        using var dq3 = dq.View(-1, T, d); using var dk3 = dk.View(-1, T, d); using var dv3 = dv.View(-1, T, e);
        using var ds3 = ds0?.View(-1, D, e); using var dz2 = dz0?.View(-1, d);
        using var a = State(angles, dt)!;
        Fused("additive_attention_causal_backward", q).AdditiveCausalLrpeBackward(q3, k3, v3, a, scale, s3, z2, do3, dq3, dk3, dv3, ds3, dz2, chunk);
        return Stored(q, s0, z0, dq, dk, dv, ds0, dz0);
    }

    /// <summary>Each gradient converted to its input's dtype (no-ops unless some input is bfloat16).</summary>
    private static (Tensor Dq, Tensor Dk, Tensor Dv, Tensor? DS0, Tensor? DZ0) Stored(Tensor q, Tensor? s0, Tensor? z0, Tensor dq, Tensor dk, Tensor dv, Tensor? ds0, Tensor? dz0) =>
        (HeadLayouts.Convert(dq, q.DType), HeadLayouts.Convert(dk, q.DType), HeadLayouts.Convert(dv, q.DType),
            ds0 == null ? null : HeadLayouts.Convert(ds0, s0!.DType), dz0 == null ? null : HeadLayouts.Convert(dz0, z0!.DType));

    /// <summary>Non-causal <c>O = α φ(Q) φ(softmax_T(K))ᵀ V</c> [B, H, T, e], φ = MD-LRPE with <paramref name="angles"/> or the identity.</summary>
    public static Tensor NonCausalForward(Tensor q, Tensor k, Tensor v, double scale, Tensor? angles = null)
    {
        Validate("additive_attention_noncausal", q, k, v, null, null, angles);
        int B = q.Size(0), H = q.Size(1), T = q.Size(2), e = v.Size(3);
        using var q3 = Flat3(q); using var k3 = Flat3(k); using var v3 = Flat3(v);
        using var a = angles?.Contiguous();
        var o = Tensor.Empty([B, H, T, e], q.DType, q.Device);
        using var o3 = o.View(-1, T, e);
        Fused("additive_attention_noncausal", q).AdditiveNonCausalForward(q3, k3, v3, a, scale, o3);
        return o;
    }

    /// <summary>Backward of <see cref="NonCausalForward"/>: (dq, dk, dv).</summary>
    public static (Tensor Dq, Tensor Dk, Tensor Dv) NonCausalBackward(Tensor q, Tensor k, Tensor v, double scale, Tensor dO, Tensor? angles = null)
    {
        Validate("additive_attention_noncausal_backward", q, k, v, null, null, angles);
        int B = q.Size(0), H = q.Size(1), T = q.Size(2), d = q.Size(3), e = v.Size(3);
        if (dO.Shape != new Shape(B, H, T, e)) throw new ShapeException($"additive_attention_noncausal_backward: 'dO' {dO.Shape} must be [{B}, {H}, {T}, {e}]");
        using var q3 = Flat3(q); using var k3 = Flat3(k); using var v3 = Flat3(v); using var do3 = Flat3(dO);
        using var a = angles?.Contiguous();
        var dq = q.EmptyLike(); var dk = q.EmptyLike(); var dv = v.EmptyLike();
        using var dq3 = dq.View(-1, T, d); using var dk3 = dk.View(-1, T, d); using var dv3 = dv.View(-1, T, e);
        Fused("additive_attention_noncausal_backward", q).AdditiveNonCausalBackward(q3, k3, v3, a, scale, do3, dq3, dk3, dv3);
        return (dq, dk, dv);
    }
}
