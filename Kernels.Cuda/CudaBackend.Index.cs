namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    private static string ByElementSize(string op, DType t, string b2, string b4, string b8) => t.Size() switch
    {
        2 => b2,
        4 => b4,
        8 => b8,
        _ => throw new ShapeException($"{op}: dtype {t.Name()} is not supported on cuda"),
    };

    /// <summary>
    /// Runs an index kernel on a [outer, n, inner] operand <paramref name="a"/>, the index and the other
    /// operand; the adjoints (<paramref name="perColumn"/>) give one thread per output column. Then checks the
    /// bad-index flag and throws the CPU backend's message.
    /// </summary>
    private void IndexOp(string op, string kernel, Tensor a, Tensor idx, Tensor b, int m, bool perColumn)
    {
        long outer = a.Size(0), n = a.Size(1), inner = a.Size(2);
        _dev.MakeCurrent();
        _dev.ResetErrorFlag();
        Launch("index", kernel, perColumn ? outer * inner : outer * m * inner, false, Addr(a), Addr(idx), Addr(b), outer, n, (long)m, inner, _dev.ErrorFlag);
        ThrowIfBadIndex(op, idx, n);
    }

    /// <summary>Reads the bad-index flag the kernel set (waits for it) and throws the CPU backend's message.</summary>
    private void ThrowIfBadIndex(string op, Tensor idx, long n)
    {
        ulong bad = _dev.ReadErrorFlag();
        if (bad == ulong.MaxValue) return;
        long v = _dev.ReadInt64(Addr(idx) + bad * 8);
        throw new ArgumentOutOfRangeException(nameof(idx), $"{op}: index {v} is out of range for an axis of size {n}");
    }

    /// <inheritdoc/>
    public void IndexSelect(Tensor x, Tensor idx, Tensor y) =>
        IndexOp("index_select", ByElementSize("index_select", x.DType, "index_select_b2", "index_select_b4", "index_select_b8"), x, idx, y, idx.Size(0), false);

    /// <inheritdoc/>
    /// <remarks>bfloat16: the float32 kernels add into a float32 copy of <paramref name="y"/> (same order, so deterministic), rounded back once.</remarks>
    public void IndexAdd(Tensor y, Tensor idx, Tensor src)
    {
        if (y.DType == DType.BFloat16)
        {
            using var y32 = y.To(DType.Float32);
            using var src32 = src.To(DType.Float32);
            IndexAdd(y32, idx, src32);
            Copy(y32, y);
            return;
        }
        long inner = y.Size(2), rowsOut = y.Size(1);
        int m = idx.Size(0);
        if (inner < TiledIndexAddMinInner || m < TiledIndexAddMinRows || rowsOut == 0 || rowsOut > 65535L * 512)
        {
            IndexOp("index_add", Pick("index_add", y.DType, "index_add_f32", "index_add_f64"), y, idx, src, m, true);
            return;
        }
        // Wide rows (embedding backward): tiles of output rows × columns, each scanning the index (index.cu, index_add_tiled).
        long outer = y.Size(0), n = y.Size(1);
        var f = _dev.Function("index", Pick("index_add", y.DType, "index_add_tiled_f32", "index_add_tiled_f64"));
        _dev.MakeCurrent();
        _dev.ResetErrorFlag();
        int es = y.DType.Size();
        for (long z0 = 0; z0 < outer; z0 += 65535)
        {
            var p = new ArgPack();
            p.Ptr(Addr(y) + (ulong)(z0 * n * inner * es));
            p.Ptr(Addr(idx));
            p.Ptr(Addr(src) + (ulong)(z0 * m * inner * es));
            p.I64(n); p.I64(m); p.I64(inner);
            p.Ptr(_dev.ErrorFlag);
            f.Launch((uint)((inner + 255) / 256), (uint)((n + 511) / 512), (uint)Math.Min(65535, outer - z0), 256, 0, S, ref p);
        }
        ThrowIfBadIndex("index_add", idx, n);
    }

    /// <summary>Row width from which index_add uses the tiled kernel (a block of 256 threads per 256 columns).</summary>
    private const long TiledIndexAddMinInner = 64;
    /// <summary>Index length from which the tiled kernel pays (below it one thread per column is quick).</summary>
    private const int TiledIndexAddMinRows = 64;

    /// <inheritdoc/>
    public void Gather(Tensor x, Tensor idx, Tensor y) =>
        IndexOp("gather", ByElementSize("gather", x.DType, "gather_b2", "gather_b4", "gather_b8"), x, idx, y, idx.Size(1), false);

    /// <inheritdoc/>
    public void ScatterAdd(Tensor y, Tensor idx, Tensor src) =>
        IndexOp("scatter_add", Pick("scatter_add", y.DType, "scatter_add_f32", "scatter_add_f64"), y, idx, src, idx.Size(1), true);
}
