namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    private const long NormRowsPerChunk = 64;

    /// <summary>
    /// Threads per row block of the RMSNorm kernels: one per 16-byte vector of the row (rounded up to a warp) when the row
    /// takes norm.cu's register path (n a whole number of vectors, at most 1024 of them, every pointer 16-byte aligned),
    /// else <see cref="Block"/>.
    /// </summary>
    private static uint NormThreads(Tensor x, params ReadOnlySpan<Tensor?> others)
    {
        long vec = 16 / x.DType.Size(), n = x.Size(1);
        if (n % vec != 0 || n / vec > 1024 || Addr(x) % 16 != 0) return Block;
        foreach (var t in others)
            if (t != null && Addr(t) % 16 != 0) return Block;
        return (uint)Math.Max(32, (n / vec + 31) / 32 * 32);
    }

    /// <summary>Queues a norm.cu row kernel: one block of <paramref name="threads"/> per row.</summary>
    private void LaunchNorm(string kernel, long rows, uint threads, params ReadOnlySpan<KernelArg> args)
    {
        if (rows <= 0) return;
        _dev.MakeCurrent();
        var p = ArgPack.From(args);
        _dev.Function("norm", kernel).Launch(RowBlocks(rows), 1, 1, threads, 0, S, ref p);
    }

    /// <inheritdoc/>
    public void RmsNorm(Tensor x, Tensor? w, double eps, Tensor y, Tensor rstd) =>
        LaunchNorm(Pick("rms_norm", x.DType, "rmsnorm_f32", "rmsnorm_f64", "rmsnorm_bf16"), x.Size(0), NormThreads(x, w, y),
            Addr(x), Addr(w, true), eps, Addr(y), Addr(rstd), (long)x.Size(0), (long)x.Size(1));

    /// <inheritdoc/>
    public void RmsNormBackward(Tensor x, Tensor? w, Tensor rstd, Tensor dy, Tensor dx, Tensor? dw)
    {
        LaunchNorm(Pick("rms_norm_backward", x.DType, "rmsnorm_bwd_f32", "rmsnorm_bwd_f64", "rmsnorm_bwd_bf16"), x.Size(0), NormThreads(x, w, dy, dx),
            Addr(x), Addr(w, true), Addr(rstd), Addr(dy), Addr(dx), (long)x.Size(0), (long)x.Size(1));
        if (dw != null) WeightGradients(x, null, rstd, dy, dw, null);
    }

    /// <inheritdoc/>
    public void RmsNormGate(Tensor x, Tensor w, Tensor u, double eps, Tensor y, Tensor rstd) =>
        LaunchNorm(Pick("rms_norm_gate", x.DType, "rmsnorm_gate_f32", "rmsnorm_gate_f64", "rmsnorm_gate_bf16"), x.Size(0), NormThreads(x, w, u, y),
            Addr(x), Addr(w), Addr(u), eps, Addr(y), Addr(rstd), (long)x.Size(0), (long)x.Size(1));

    /// <inheritdoc/>
    public void RmsNormGateBackward(Tensor x, Tensor w, Tensor u, Tensor rstd, Tensor dy, Tensor dx, Tensor dw, Tensor du)
    {
        var kernel = Pick("rms_norm_gate_backward", x.DType, "rmsnorm_gate_bwd_f32", "rmsnorm_gate_bwd_f64", "rmsnorm_gate_bwd_bf16");
        using var ga = x.EmptyLike(); // dy·SiLU(u), the weight gradient's input
        LaunchNorm(kernel, x.Size(0), NormThreads(x, w, u, dy, dx, du, ga), Addr(x), Addr(w), Addr(u), Addr(rstd), Addr(dy), Addr(dx), Addr(du), Addr(ga),
            (long)x.Size(0), (long)x.Size(1));
        WeightGradients(x, null, rstd, ga, dw, null);
    }

    /// <inheritdoc/>
    public void LayerNorm(Tensor x, Tensor? w, Tensor? b, double eps, Tensor y, Tensor mean, Tensor rstd) =>
        Launch("norm", Pick("layer_norm", x.DType, "layernorm_f32", "layernorm_f64", "layernorm_bf16"), x.Size(0), true,
            Addr(x), Addr(w, true), Addr(b, true), eps, Addr(y), Addr(mean), Addr(rstd), (long)x.Size(0), (long)x.Size(1));

    /// <inheritdoc/>
    public void LayerNormBackward(Tensor x, Tensor? w, Tensor mean, Tensor rstd, Tensor dy, Tensor dx, Tensor? dw, Tensor? db)
    {
        Launch("norm", Pick("layer_norm_backward", x.DType, "layernorm_bwd_f32", "layernorm_bwd_f64", "layernorm_bwd_bf16"), x.Size(0), true,
            Addr(x), Addr(w, true), Addr(mean), Addr(rstd), Addr(dy), Addr(dx), (long)x.Size(0), (long)x.Size(1));
        if (dw != null || db != null) WeightGradients(x, mean, rstd, dy, dw, db);
    }

    /// <summary>dw = Σ_rows dy·x̂ and db = Σ_rows dy: per-chunk partial sums, then a fixed-order sum over chunks.</summary>
    private void WeightGradients(Tensor x, Tensor? mean, Tensor rstd, Tensor dy, Tensor? dw, Tensor? db)
    {
        long rows = x.Size(0), n = x.Size(1);
        if (n == 0) return;
        long rpc = Math.Max(NormRowsPerChunk, (rows + 65534) / 65535);
        long chunks = Math.Max(1, (rows + rpc - 1) / rpc);
        var kp = Pick("norm_weight_gradient", x.DType, "norm_dw_partial_f32", "norm_dw_partial_f64", "norm_dw_partial_bf16");
        var kc = Pick("norm_weight_gradient", x.DType, "colsum_f32", "colsum_f64", "colsum_bf16");
        long bytes = chunks * n * x.DType.Accumulation().Size(); // partial sums in the compute type
        ulong pdw = dw != null ? _dev.Allocator.Rent(bytes, out _) : 0;
        ulong pdb = db != null ? _dev.Allocator.Rent(bytes, out _) : 0;
        try
        {
            var a = ArgPack.From([Addr(x), Addr(mean, true), Addr(rstd), Addr(dy), pdw, pdb, rows, n, rpc]);
            _dev.Function("norm", kp).Launch((uint)((n + Block - 1) / Block), (uint)chunks, 1, Block, 0, S, ref a);
            if (dw != null) Launch("norm", kc, n, false, pdw, Addr(dw), chunks, n);
            if (db != null) Launch("norm", kc, n, false, pdb, Addr(db), chunks, n);
        }
        finally
        {
            if (pdw != 0) _dev.Allocator.Return(pdw, DeviceAllocator.RoundUp(bytes));
            if (pdb != 0) _dev.Allocator.Return(pdb, DeviceAllocator.RoundUp(bytes));
        }
    }
}
