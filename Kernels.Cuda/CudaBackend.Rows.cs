namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, Tensor y)
    {
        var k = Pick(op, x.DType, "reduce_f32", "reduce_f64");
        long rows = x.Size(0), n = x.Size(1);
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(x));
        a.Ptr(Addr(y));
        a.I64(rows);
        a.I64(n);
        a.I64((long)op);
        RunRows("rows", k, rows, ref a);
    }

    /// <inheritdoc/>
    public void Softmax(Tensor x, Tensor y, bool log)
    {
        var k = Pick(log ? "log_softmax" : "softmax", x.DType, "softmax_f32", "softmax_f64");
        long rows = x.Size(0), n = x.Size(1);
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(x));
        a.Ptr(Addr(y));
        a.I64(rows);
        a.I64(n);
        a.I64(log ? 1 : 0);
        RunRows("rows", k, rows, ref a);
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor y, Tensor dy, Tensor dx, bool log)
    {
        var k = Pick("softmax_backward", y.DType, "softmax_bwd_f32", "softmax_bwd_f64");
        long rows = y.Size(0), n = y.Size(1);
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(y));
        a.Ptr(Addr(dy));
        a.Ptr(Addr(dx));
        a.I64(rows);
        a.I64(n);
        a.I64(log ? 1 : 0);
        RunRows("rows", k, rows, ref a);
    }

    /// <inheritdoc/>
    public void Cumulative(Tensor x, Tensor y, bool logSumExp)
    {
        var k = Pick(logSumExp ? "logcumsumexp" : "cumsum", x.DType, "cumulative_f32", "cumulative_f64");
        long rows = x.Size(0), n = x.Size(1);
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(x));
        a.Ptr(Addr(y));
        a.I64(rows);
        a.I64(n);
        a.I64(logSumExp ? 1 : 0);
        Run("rows", k, rows, ref a);
    }

    /// <inheritdoc/>
    public void CrossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse)
    {
        var k = Pick("cross_entropy", logits.DType, "cross_entropy_f32", "cross_entropy_f64");
        long rows = logits.Size(0), n = logits.Size(1);
        if (rows == 0) return;
        _dev.MakeCurrent();
        _dev.ResetErrorFlag();
        var a = new ArgPack();
        a.Ptr(Addr(logits));
        a.Ptr(Addr(targets));
        a.I64(rows);
        a.I64(n);
        a.I64(ignoreIndex);
        a.Ptr(Addr(loss));
        a.Ptr(Addr(lse));
        a.Ptr(_dev.ErrorFlag);
        RunRows("rows", k, rows, ref a);
        ulong bad = _dev.ReadErrorFlag();
        if (bad == ulong.MaxValue) return;
        long t = _dev.ReadInt64(Addr(targets) + bad * 8);
        throw new ShapeException($"cross_entropy: target {t} at row {bad} is outside [0, {n}) (and is not the ignore index {ignoreIndex})");
    }

    /// <inheritdoc/>
    public void CrossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor lse, Tensor dloss, Tensor dlogits)
    {
        var k = Pick("cross_entropy_backward", logits.DType, "cross_entropy_bwd_f32", "cross_entropy_bwd_f64");
        long rows = logits.Size(0), n = logits.Size(1);
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(logits));
        a.Ptr(Addr(targets));
        a.I64(rows);
        a.I64(n);
        a.I64(ignoreIndex);
        a.Ptr(Addr(lse));
        a.Ptr(Addr(dloss));
        a.Ptr(Addr(dlogits));
        RunRows("rows", k, rows, ref a);
    }
}
