namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void Unary(UnaryOp op, Tensor x, Tensor y)
    {
        var k = Pick(op, x.DType, "unary_f32", "unary_f64");
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(x));
        a.Ptr(Addr(y));
        a.I64(x.Numel);
        a.I64((long)op);
        Run("unary", k, x.Numel, ref a);
    }

    /// <inheritdoc/>
    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, Tensor dx)
    {
        var k = Pick(op, x.DType, "unary_bwd_f32", "unary_bwd_f64", "_backward");
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(x));
        a.Ptr(Addr(y));
        a.Ptr(Addr(dy));
        a.Ptr(Addr(dx));
        a.I64(x.Numel);
        a.I64((long)op);
        Run("unary", k, x.Numel, ref a);
    }

    /// <inheritdoc/>
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        var k = Pick(op, y.DType, "binary_f32", "binary_f64");
        _dev.MakeCurrent();
        var d = StridedDims.Build(op.ToString().ToLowerInvariant(), y.ShapeArray, a.StrideArray, b.StrideArray, y.StrideArray);
        var p = new ArgPack();
        p.Add(d, 8);
        p.Ptr(Addr(a));
        p.Ptr(Addr(b));
        p.Ptr(Addr(y));
        p.I64(y.Numel);
        p.I64((long)op);
        Run("strided", k, y.Numel, ref p);
    }

    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        var k = Pick("where", y.DType, "where_f32", "where_f64");
        _dev.MakeCurrent();
        var d = StridedDims.Build("where", y.ShapeArray, cond.StrideArray, a.StrideArray, b.StrideArray, y.StrideArray);
        var p = new ArgPack();
        p.Add(d, 8);
        p.Ptr(Addr(cond));
        p.Ptr(Addr(a));
        p.Ptr(Addr(b));
        p.Ptr(Addr(y));
        p.I64(y.Numel);
        Run("strided", k, y.Numel, ref p);
    }
}
