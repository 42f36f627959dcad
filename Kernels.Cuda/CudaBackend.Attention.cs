namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <summary>Chunk length of the CUDA kernels (gated.cu's CH); the chunk argument of the entry points does not change it.</summary>
    private const int GatedChunk = 64;
    private const int GatedThreads = 256;
    /// <summary>Shared-memory leading dimensions of gated.cu: a 64-wide tile (LDT) and a 32-deep slice (LDS).</summary>
    private const int GatedLdT = GatedChunk + 4, GatedLdS = 32 + 4;

    /// <summary>Scratch of one gated attention call: G [N, T, d], per-chunk flags and the states at chunk boundaries.</summary>
    private readonly struct GatedScratch
    {
        public readonly int N, T, D, E, Chunks, Es;
        public GatedScratch(Tensor q, Tensor v, string op)
        {
            N = q.Size(0); T = q.Size(1); D = q.Size(2); E = v.Size(2); Es = q.DType.Size();
            Chunks = (T + GatedChunk - 1) / GatedChunk;
            if (N > 65535 || Chunks > 65535)
                throw new ShapeException($"{op}: {N} sequences of {T} tokens exceed the CUDA grid (at most 65535 sequences and 65535 chunks of {GatedChunk})");
        }
        public long StateBytes => (long)N * Chunks * D * E * Es;
    }

    /// <summary>Kernel name for the dtype, with the TF32 tensor-core variant when <see cref="AllowTf32"/> is set.</summary>
    private string GatedKernel(string op, DType t, string f32, string tf32, string f64) => AllowTf32 && t == DType.Float32 ? tf32 : Pick(op, t, f32, f64);

    private void GatedLaunch(string kernel, uint gx, uint gy, uint gz, int sharedBytes, params ReadOnlySpan<KernelArg> args)
    {
        var f = _dev.Function("gated", kernel);
        if (sharedBytes > 48 * 1024) f.AllowSharedBytes(sharedBytes);
        var a = ArgPack.From(args);
        f.Launch(gx, gy, gz, GatedThreads, (uint)sharedBytes, S, ref a);
    }

    /// <summary>G (log-decay accumulated inside each chunk) and the factored-form flag of every chunk.</summary>
    private void GatedCumsum(in GatedScratch w, Tensor g, ulong G, ulong flag)
    {
        if (w.Chunks == 0) return;
        GatedLaunch(Pick("gated_attention", g.DType, "gated_cumsum_f32", "gated_cumsum_f64"), (uint)w.Chunks, (uint)w.N, 1, 0,
            Addr(g), G, flag, (long)w.T, (long)w.D, (long)w.Chunks);
    }

    /// <summary>States at every chunk boundary (forward: x = k̄, y = v; reverse: x = q, y = dO) and the last one.</summary>
    private void GatedScan(in GatedScratch w, Tensor x, Tensor y, ulong G, double scale, ulong init, ulong states, ulong fin, bool reverse)
    {
        int smem = (2 * GatedChunk * GatedLdT + 64) * w.Es;
        GatedLaunch(Pick("gated_attention", x.DType, "gated_scan_f32", "gated_scan_f64"), (uint)((w.E + 63) / 64), (uint)((w.D + 63) / 64), (uint)w.N, smem,
            Addr(x), Addr(y), G, scale, init, states, fin, (long)w.T, (long)w.D, (long)w.E, (long)w.Chunks, reverse ? 1L : 0L);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Chunked algorithm of gated.cu (chunks of 64 tokens whatever <paramref name="chunk"/> says): exact float32/float64 products,
    /// or TF32 tensor cores for float32 when <see cref="AllowTf32"/> is set.
    /// </remarks>
    public void GatedAttentionForward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? s0, Tensor o, Tensor sT, int chunk)
    {
        var w = new GatedScratch(q, v, "gated_attention");
        var kOut = GatedKernel("gated_attention", q.DType, "gated_out_f32", "gated_out_tf32", "gated_out_f64");
        if (w.N == 0 || w.D == 0 || w.E == 0) return;
        _dev.MakeCurrent();
        ulong G = _dev.Allocator.Rent(Math.Max(w.Es, (long)w.N * w.T * w.D * w.Es), out var gBlock);
        ulong flag = _dev.Allocator.Rent(Math.Max(4L, 4L * w.N * w.Chunks), out var flagBlock);
        ulong h = _dev.Allocator.Rent(Math.Max(w.Es, w.StateBytes), out var hBlock);
        try
        {
            GatedCumsum(w, g, G, flag);
            GatedScan(w, kbar, v, G, scale, Addr(s0, true), h, Addr(sT), reverse: false);
            if (w.Chunks > 0)
                GatedLaunch(kOut, (uint)w.Chunks, (uint)w.N, 1, (GatedChunk * GatedLdT + 2 * GatedChunk * GatedLdS) * w.Es,
                    Addr(q), Addr(kbar), Addr(v), G, flag, h, Addr(o), scale, (long)w.T, (long)w.D, (long)w.E, (long)w.Chunks);
        }
        finally
        {
            _dev.Allocator.Return(G, gBlock);
            _dev.Allocator.Return(flag, flagBlock);
            _dev.Allocator.Return(h, hBlock);
        }
    }

    /// <inheritdoc/>
    /// <remarks>Recomputes the chunk states, scans the state gradients backwards, then differentiates every chunk in parallel.</remarks>
    public void GatedAttentionBackward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? s0, Tensor dO, Tensor? dsT,
        Tensor dq, Tensor dkbar, Tensor dv, Tensor dg, Tensor? ds0, int chunk)
    {
        var w = new GatedScratch(q, v, "gated_attention_backward");
        var kBwd = GatedKernel("gated_attention_backward", q.DType, "gated_bwd_f32", "gated_bwd_tf32", "gated_bwd_f64");
        if (w.N == 0 || w.D == 0 || w.E == 0) return;
        _dev.MakeCurrent();
        long stateBytes = Math.Max(w.Es, w.StateBytes);
        ulong G = _dev.Allocator.Rent(Math.Max(w.Es, (long)w.N * w.T * w.D * w.Es), out var gBlock);
        ulong flag = _dev.Allocator.Rent(Math.Max(4L, 4L * w.N * w.Chunks), out var flagBlock);
        ulong h = _dev.Allocator.Rent(stateBytes, out var hBlock);
        ulong dh = _dev.Allocator.Rent(stateBytes, out var dhBlock);
        ulong fin = _dev.Allocator.Rent(Math.Max(w.Es, (long)w.N * w.D * w.E * w.Es), out var finBlock);
        ulong tot = _dev.Allocator.Rent((long)w.N * (w.Chunks + 1) * w.D * w.Es, out var totBlock);
        try
        {
            GatedCumsum(w, g, G, flag);
            GatedScan(w, kbar, v, G, scale, Addr(s0, true), h, fin, reverse: false);
            GatedScan(w, q, dO, G, scale, Addr(dsT, true), dh, Addr(ds0, true), reverse: true);
            if (w.Chunks == 0) return;
            int smem = (3 * GatedChunk * GatedLdT + 2 * GatedChunk * GatedLdS) * w.Es;
            GatedLaunch(kBwd, (uint)w.Chunks, (uint)w.N, 1, smem, Addr(q), Addr(kbar), Addr(v), G, flag, h, dh, Addr(dO), Addr(dsT, true), fin,
                Addr(dq), Addr(dkbar), Addr(dv), Addr(dg), tot, scale, (long)w.T, (long)w.D, (long)w.E, (long)w.Chunks);
            Launch("gated", Pick("gated_attention_backward", q.DType, "gated_dg_carry_f32", "gated_dg_carry_f64"), (long)w.N * w.Chunks * w.D, false,
                Addr(dg), tot, (long)w.N, (long)w.T, (long)w.D, (long)w.Chunks);
        }
        finally
        {
            _dev.Allocator.Return(G, gBlock);
            _dev.Allocator.Return(flag, flagBlock);
            _dev.Allocator.Return(h, hBlock);
            _dev.Allocator.Return(dh, dhBlock);
            _dev.Allocator.Return(fin, finBlock);
            _dev.Allocator.Return(tot, totBlock);
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
