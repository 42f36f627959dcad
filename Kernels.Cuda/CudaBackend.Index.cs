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

    private void IndexKernel(string kernel, Tensor a, Tensor idx, Tensor b, long outer, long n, long m, long inner, long work)
    {
        _dev.MakeCurrent();
        _dev.ResetErrorFlag();
        var p = new ArgPack();
        p.Ptr(Addr(a));
        p.Ptr(Addr(idx));
        p.Ptr(Addr(b));
        p.I64(outer);
        p.I64(n);
        p.I64(m);
        p.I64(inner);
        p.Ptr(_dev.ErrorFlag);
        Run("index", kernel, work, ref p);
    }

    /// <inheritdoc/>
    public void IndexSelect(Tensor x, Tensor idx, Tensor y)
    {
        var k = ByElementSize("index_select", x.DType, "index_select_b2", "index_select_b4", "index_select_b8");
        int outer = x.Size(0), n = x.Size(1), m = idx.Size(0), inner = x.Size(2);
        IndexKernel(k, x, idx, y, outer, n, m, inner, (long)outer * m * inner);
        CheckIndexFlag("index_select", idx, n);
    }

    /// <inheritdoc/>
    public void IndexAdd(Tensor y, Tensor idx, Tensor src)
    {
        var k = Pick("index_add", y.DType, "index_add_f32", "index_add_f64");
        int outer = y.Size(0), n = y.Size(1), m = idx.Size(0), inner = y.Size(2);
        IndexKernel(k, y, idx, src, outer, n, m, inner, (long)outer * inner);
        CheckIndexFlag("index_add", idx, n);
    }

    /// <inheritdoc/>
    public void Gather(Tensor x, Tensor idx, Tensor y)
    {
        var k = ByElementSize("gather", x.DType, "gather_b2", "gather_b4", "gather_b8");
        int outer = x.Size(0), n = x.Size(1), m = idx.Size(1), inner = x.Size(2);
        IndexKernel(k, x, idx, y, outer, n, m, inner, (long)outer * m * inner);
        CheckIndexFlag("gather", idx, n);
    }

    /// <inheritdoc/>
    public void ScatterAdd(Tensor y, Tensor idx, Tensor src)
    {
        var k = Pick("scatter_add", y.DType, "scatter_add_f32", "scatter_add_f64");
        int outer = y.Size(0), n = y.Size(1), m = idx.Size(1), inner = y.Size(2);
        IndexKernel(k, y, idx, src, outer, n, m, inner, (long)outer * inner);
        CheckIndexFlag("scatter_add", idx, n);
    }
}
