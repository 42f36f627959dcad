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
        ulong bad = _dev.ReadErrorFlag();
        if (bad == ulong.MaxValue) return;
        long v = _dev.ReadInt64(Addr(idx) + bad * 8);
        throw new ArgumentOutOfRangeException(nameof(idx), $"{op}: index {v} is out of range for an axis of size {n}");
    }

    /// <inheritdoc/>
    public void IndexSelect(Tensor x, Tensor idx, Tensor y) =>
        IndexOp("index_select", ByElementSize("index_select", x.DType, "index_select_b2", "index_select_b4", "index_select_b8"), x, idx, y, idx.Size(0), false);

    /// <inheritdoc/>
    public void IndexAdd(Tensor y, Tensor idx, Tensor src) =>
        IndexOp("index_add", Pick("index_add", y.DType, "index_add_f32", "index_add_f64"), y, idx, src, idx.Size(0), true);

    /// <inheritdoc/>
    public void Gather(Tensor x, Tensor idx, Tensor y) =>
        IndexOp("gather", ByElementSize("gather", x.DType, "gather_b2", "gather_b4", "gather_b8"), x, idx, y, idx.Size(1), false);

    /// <inheritdoc/>
    public void ScatterAdd(Tensor y, Tensor idx, Tensor src) =>
        IndexOp("scatter_add", Pick("scatter_add", y.DType, "scatter_add_f32", "scatter_add_f64"), y, idx, src, idx.Size(1), true);
}
