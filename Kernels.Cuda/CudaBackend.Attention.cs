namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    private const int GatedMaxD = 256;

    /// <summary>Threads per sequence block: e rounded up to whole warps (thread j owns state column j).</summary>
    private static uint GatedBlock(string op, int d, int e)
    {
        if (d > GatedMaxD || e > 1024)
            throw new ShapeException($"{op}: head dims d = {d}, e = {e} exceed the CUDA recurrence limits (d ≤ {GatedMaxD}, e ≤ 1024)");
        return (uint)Math.Max(32, (e + 31) / 32 * 32);
    }

    /// <inheritdoc/>
    /// <remarks>Exact recurrence, one block per sequence (the chunk length only sets the backward checkpoints).</remarks>
    public void GatedAttentionForward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? s0, Tensor o, Tensor sT, int chunk)
    {
        var k = Pick("gated_attention", q.DType, "gated_fwd_f32", "gated_fwd_f64");
        int n = q.Size(0), t = q.Size(1), d = q.Size(2), e = v.Size(2);
        var block = GatedBlock("gated_attention", d, e);
        if (n == 0) return;
        _dev.MakeCurrent();
        var a = ArgPack.From([Addr(q), Addr(kbar), Addr(v), Addr(g), Addr(s0, true), Addr(o), Addr(sT), scale, (long)t, (long)d, (long)e]);
        _dev.Function("gated", k).Launch((uint)n, 1, 1, block, (uint)(3 * d * q.DType.Size()), S, ref a);
    }

    /// <inheritdoc/>
    public void GatedAttentionBackward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? s0, Tensor dO, Tensor? dsT,
        Tensor dq, Tensor dkbar, Tensor dv, Tensor dg, Tensor? ds0, int chunk)
    {
        var k = Pick("gated_attention_backward", q.DType, "gated_bwd_f32", "gated_bwd_f64");
        int n = q.Size(0), t = q.Size(1), d = q.Size(2), e = v.Size(2);
        var block = GatedBlock("gated_attention_backward", d, e);
        if (n == 0) return;
        long c = Math.Max(1, Math.Min(chunk, t));
        long chunks = (t + c - 1) / c;
        int es = q.DType.Size();
        long ckBytes = n * (chunks + 1) * d * e * es, bufBytes = n * c * d * e * es;
        _dev.MakeCurrent();
        ulong ck = _dev.Allocator.Rent(ckBytes, out var ckBlock);
        ulong buf = _dev.Allocator.Rent(bufBytes, out var bufBlock);
        try
        {
            var a = ArgPack.From([Addr(q), Addr(kbar), Addr(v), Addr(g), Addr(s0, true), Addr(dO), Addr(dsT, true),
                Addr(dq), Addr(dkbar), Addr(dv), Addr(dg), Addr(ds0, true), scale, (long)t, (long)d, (long)e, c, ck, buf]);
            _dev.Function("gated", k).Launch((uint)n, 1, 1, block, (uint)(6 * d * es), S, ref a);
        }
        finally
        {
            _dev.Allocator.Return(ck, ckBlock);
            _dev.Allocator.Return(buf, bufBlock);
        }
    }

    /// <summary>k̄, g [N, T, d] and the final Z [N, d] from k and the optional initial Z (additive.cu).</summary>
    private void AdditivePrep(Tensor k, Tensor? z0, Tensor kbar, Tensor g, Tensor zT)
    {
        var kn = Pick("additive_attention", k.DType, "additive_prep_f32", "additive_prep_f64");
        long n = k.Size(0), t = k.Size(1), d = k.Size(2);
        Launch("additive", kn, n * d, false, Addr(k), Addr(z0, true), Addr(kbar), Addr(g), Addr(zT), n, t, d);
    }

    /// <inheritdoc/>
    public void AdditiveCausalForward(Tensor q, Tensor k, Tensor v, double scale, Tensor? s0, Tensor? z0, Tensor o, Tensor sT, Tensor zT, int chunk)
    {
        _dev.MakeCurrent();
        using var kbar = k.EmptyLike();
        using var g = k.EmptyLike();
        AdditivePrep(k, z0, kbar, g, zT);
        GatedAttentionForward(q, kbar, v, g, scale, s0, o, sT, chunk);
    }

    /// <inheritdoc/>
    public void AdditiveCausalBackward(Tensor q, Tensor k, Tensor v, double scale, Tensor? s0, Tensor? z0, Tensor dO,
        Tensor dq, Tensor dk, Tensor dv, Tensor? ds0, Tensor? dz0, int chunk)
    {
        var kn = Pick("additive_attention_backward", k.DType, "additive_dk_f32", "additive_dk_f64");
        int n = k.Size(0), t = k.Size(1), d = k.Size(2);
        _dev.MakeCurrent();
        using var kbar = k.EmptyLike();
        using var g = k.EmptyLike();
        using var zT = Tensor.Empty([n, d], k.DType, Device);
        AdditivePrep(k, z0, kbar, g, zT);
        using var dkbar = k.EmptyLike();
        using var dg = k.EmptyLike();
        using var ds0Tmp = s0 != null && ds0 == null ? s0.EmptyLike() : null;
        GatedAttentionBackward(q, kbar, v, g, scale, s0, dO, null, dq, dkbar, dv, dg, ds0 ?? ds0Tmp, chunk);
        Launch("additive", kn, (long)n * d, false, Addr(kbar), Addr(g), Addr(dkbar), Addr(dg), z0 != null ? 1L : 0L, Addr(dk), Addr(dz0, true), (long)n, (long)t, (long)d);
    }
}
