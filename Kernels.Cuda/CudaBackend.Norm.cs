namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    private const long NormRowsPerChunk = 64;

    /// <inheritdoc/>
    public void RmsNorm(Tensor x, Tensor? w, double eps, Tensor y, Tensor rstd)
    {
        var k = Pick("rms_norm", x.DType, "rmsnorm_f32", "rmsnorm_f64");
        long rows = x.Size(0), n = x.Size(1);
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(x));
        a.Ptr(Addr(w, true));
        a.F64(eps);
        a.Ptr(Addr(y));
        a.Ptr(Addr(rstd));
        a.I64(rows);
        a.I64(n);
        RunRows("norm", k, rows, ref a);
    }

    /// <inheritdoc/>
    public void RmsNormBackward(Tensor x, Tensor? w, Tensor rstd, Tensor dy, Tensor dx, Tensor? dw)
    {
        var k = Pick("rms_norm_backward", x.DType, "rmsnorm_bwd_f32", "rmsnorm_bwd_f64");
        long rows = x.Size(0), n = x.Size(1);
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(x));
        a.Ptr(Addr(w, true));
        a.Ptr(Addr(rstd));
        a.Ptr(Addr(dy));
        a.Ptr(Addr(dx));
        a.I64(rows);
        a.I64(n);
        RunRows("norm", k, rows, ref a);
        if (dw != null) WeightGradients(x, null, rstd, dy, dw, null);
    }

    /// <inheritdoc/>
    public void LayerNorm(Tensor x, Tensor? w, Tensor? b, double eps, Tensor y, Tensor mean, Tensor rstd)
    {
        var k = Pick("layer_norm", x.DType, "layernorm_f32", "layernorm_f64");
        long rows = x.Size(0), n = x.Size(1);
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(x));
        a.Ptr(Addr(w, true));
        a.Ptr(Addr(b, true));
        a.F64(eps);
        a.Ptr(Addr(y));
        a.Ptr(Addr(mean));
        a.Ptr(Addr(rstd));
        a.I64(rows);
        a.I64(n);
        RunRows("norm", k, rows, ref a);
    }

    /// <inheritdoc/>
    public void LayerNormBackward(Tensor x, Tensor? w, Tensor mean, Tensor rstd, Tensor dy, Tensor dx, Tensor? dw, Tensor? db)
    {
        var k = Pick("layer_norm_backward", x.DType, "layernorm_bwd_f32", "layernorm_bwd_f64");
        long rows = x.Size(0), n = x.Size(1);
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(x));
        a.Ptr(Addr(w, true));
        a.Ptr(Addr(mean));
        a.Ptr(Addr(rstd));
        a.Ptr(Addr(dy));
        a.Ptr(Addr(dx));
        a.I64(rows);
        a.I64(n);
        RunRows("norm", k, rows, ref a);
        if (dw != null || db != null) WeightGradients(x, mean, rstd, dy, dw, db);
    }

    /// <summary>dw = Σ_rows dy·x̂ and db = Σ_rows dy: per-chunk partial sums, then a fixed-order sum over chunks.</summary>
    private void WeightGradients(Tensor x, Tensor? mean, Tensor rstd, Tensor dy, Tensor? dw, Tensor? db)
    {
        long rows = x.Size(0), n = x.Size(1);
        int es = x.DType.Size();
        if (n == 0) return;
        long rpc = Math.Max(NormRowsPerChunk, (rows + 65534) / 65535);
        long chunks = Math.Max(1, (rows + rpc - 1) / rpc);
        var (kp, kc) = x.DType == DType.Float32 ? ("norm_dw_partial_f32", "colsum_f32") : ("norm_dw_partial_f64", "colsum_f64");
        long bytes = chunks * n * es;
        ulong pdw = dw != null ? _dev.Allocator.Rent(bytes, out var bw) : 0;
        ulong pdb = db != null ? _dev.Allocator.Rent(bytes, out var bb) : 0;
        try
        {
            var a = new ArgPack();
            a.Ptr(Addr(x));
            a.Ptr(Addr(mean, true));
            a.Ptr(Addr(rstd));
            a.Ptr(Addr(dy));
            a.Ptr(pdw);
            a.Ptr(pdb);
            a.I64(rows);
            a.I64(n);
            a.I64(rpc);
            _dev.Function("norm", kp).Launch((uint)((n + Block - 1) / Block), (uint)chunks, 1, Block, 0, S, ref a);
            foreach (var (part, dst) in new[] { (pdw, dw), (pdb, db) })
            {
                if (dst == null) continue;
                var c = new ArgPack();
                c.Ptr(part);
                c.Ptr(Addr(dst));
                c.I64(chunks);
                c.I64(n);
                Run("norm", kc, n, ref c);
            }
        }
        finally
        {
            if (pdw != 0) _dev.Allocator.Return(pdw, DeviceAllocator.RoundUp(bytes));
            if (pdb != 0) _dev.Allocator.Return(pdb, DeviceAllocator.RoundUp(bytes));
        }
    }
}
