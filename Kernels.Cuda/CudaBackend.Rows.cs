namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, Tensor y) =>
        Launch("rows", Pick(op, x.DType, "reduce_f32", "reduce_f64", "reduce_bf16"), x.Size(0), true, Addr(x), Addr(y), (long)x.Size(0), (long)x.Size(1), (long)op);

    /// <inheritdoc/>
    public void Softmax(Tensor x, Tensor y, bool log) =>
        Launch("rows", Pick(log ? "log_softmax" : "softmax", x.DType, "softmax_f32", "softmax_f64", "softmax_bf16"), x.Size(0), true,
            Addr(x), Addr(y), (long)x.Size(0), (long)x.Size(1), log ? 1L : 0L);

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor y, Tensor dy, Tensor dx, bool log) =>
        Launch("rows", Pick("softmax_backward", y.DType, "softmax_bwd_f32", "softmax_bwd_f64", "softmax_bwd_bf16"), y.Size(0), true,
            Addr(y), Addr(dy), Addr(dx), (long)y.Size(0), (long)y.Size(1), log ? 1L : 0L);

    /// <inheritdoc/>
    /// <remarks>One thread per row, sequential along the row in double.</remarks>
    public void Cumulative(Tensor x, Tensor y, bool logSumExp) =>
        Launch("rows", Pick(logSumExp ? "logcumsumexp" : "cumsum", x.DType, "cumulative_f32", "cumulative_f64", "cumulative_bf16"), x.Size(0), false,
            Addr(x), Addr(y), (long)x.Size(0), (long)x.Size(1), logSumExp ? 1L : 0L);

    /// <inheritdoc/>
    public void CrossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse)
    {
        var k = Pick("cross_entropy", logits.DType, "cross_entropy_f32", "cross_entropy_f64", "cross_entropy_bf16");
        long rows = logits.Size(0), n = logits.Size(1);
        if (rows == 0) return;
        _dev.MakeCurrent();
        _dev.ResetErrorFlag();
        Launch("rows", k, rows, true, Addr(logits), Addr(targets), rows, n, ignoreIndex, Addr(loss), Addr(lse), _dev.ErrorFlag);
        ulong bad = _dev.ReadErrorFlag();
        if (bad == ulong.MaxValue) return;
        long t = _dev.ReadInt64(Addr(targets) + bad * 8);
        throw new ShapeException($"cross_entropy: target {t} at row {bad} is outside [0, {n}) (and is not the ignore index {ignoreIndex})");
    }

    /// <inheritdoc/>
    public void CrossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor lse, Tensor dloss, Tensor dlogits) =>
        Launch("rows", Pick("cross_entropy_backward", logits.DType, "cross_entropy_bwd_f32", "cross_entropy_bwd_f64", "cross_entropy_bwd_bf16"), logits.Size(0), true,
            Addr(logits), Addr(targets), (long)logits.Size(0), (long)logits.Size(1), ignoreIndex, Addr(lse), Addr(dloss), Addr(dlogits));
}
