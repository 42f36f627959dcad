namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void Unary(UnaryOp op, Tensor x, Tensor y) =>
        Launch("unary", Pick(op, x.DType, "unary_f32", "unary_f64", "unary_bf16"), x.Numel, false, Addr(x), Addr(y), x.Numel, (long)op);

    /// <inheritdoc/>
    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, Tensor dx) =>
        Launch("unary", Pick(op, x.DType, "unary_bwd_f32", "unary_bwd_f64", "unary_bwd_bf16", "_backward"), x.Numel, false, Addr(x), Addr(y), Addr(dy), Addr(dx), x.Numel, (long)op);

    /// <inheritdoc/>
    public void SwiGlu(Tensor gate, Tensor up, Tensor y) =>
        Launch("unary", Pick("swiglu", gate.DType, "swiglu_f32", "swiglu_f64", "swiglu_bf16"), gate.Numel, false, Addr(gate), Addr(up), Addr(y), gate.Numel);

    /// <inheritdoc/>
    public void SwiGluBackward(Tensor gate, Tensor up, Tensor dy, Tensor dGate, Tensor dUp) =>
        Launch("unary", Pick("swiglu_backward", gate.DType, "swiglu_bwd_f32", "swiglu_bwd_f64", "swiglu_bwd_bf16"), gate.Numel, false,
            Addr(gate), Addr(up), Addr(dy), Addr(dGate), Addr(dUp), gate.Numel);

    /// <summary>Queues a strided kernel of strided.cu: the collapsed dims, then pointers and scalars.</summary>
    private void LaunchStrided(string kernel, in StridedDims dims, long n, params ReadOnlySpan<KernelArg> args)
    {
        if (n == 0) return;
        _dev.MakeCurrent();
        var p = new ArgPack();
        p.Add(dims, 8);
        foreach (var a in args) a.AppendTo(ref p);
        Run("strided", kernel, n, ref p);
    }

    /// <inheritdoc/>
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        var k = Pick(op, y.DType, "binary_f32", "binary_f64", "binary_bf16");
        var d = StridedDims.Build(op.ToString().ToLowerInvariant(), y.ShapeArray, a.StrideArray, b.StrideArray, y.StrideArray);
        LaunchStrided(k, d, y.Numel, Addr(a), Addr(b), Addr(y), y.Numel, (long)op);
    }

    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        var k = Pick("where", y.DType, "where_f32", "where_f64", "where_bf16");
        var d = StridedDims.Build("where", y.ShapeArray, cond.StrideArray, a.StrideArray, b.StrideArray, y.StrideArray);
        LaunchStrided(k, d, y.Numel, Addr(cond), Addr(a), Addr(b), Addr(y), y.Numel);
    }
}
