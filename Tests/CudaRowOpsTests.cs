namespace LightNet.Tests;

[Category("Cuda")]
public class CudaRowOpsTests
{
    [Test]
    public void ReductionsMatchCpu([Values] ReduceOp op, [Values(0, 1)] int axis, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Reference.Randn([13, 1001], dt, 51) * 3;
        var gx = Gpu.Strided(x.To(dev));
        var y = x.Reduce(op, [axis]);
        var gy = gx.Reduce(op, [axis]);
        if (op is ReduceOp.ArgMax or ReduceOp.ArgMin)
            Assert.That(gy.ToArray<long>(), Is.EqualTo(y.ToArray<long>()), op.ToString());
        else
            Gpu.Parity(gy, y, Gpu.Tol(dt), $"{op} over axis {axis}");
    }

    [Test]
    public void ReductionOfALongRowAndOfSpecialValues()
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Reference.Randn([1, 300_001], DType.Float32, 52);
        foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Max, ReduceOp.LogSumExp, ReduceOp.ArgMin })
            Assert.That(Gpu.NormErr(x.To(dev).Reduce(op, [1]).ToDoubleArray(), x.Reduce(op, [1]).ToDoubleArray()), Is.LessThanOrEqualTo(1e-10), op.ToString());
        var sp = Tensor.FromArray(new float[] { 1, float.NaN, 3, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity }, [2, 3]);
        foreach (var op in new[] { ReduceOp.Max, ReduceOp.Min, ReduceOp.LogSumExp, ReduceOp.ArgMax })
            Assert.That(sp.To(dev).Reduce(op, [1]).ToDoubleArray(), Is.EqualTo(sp.Reduce(op, [1]).ToDoubleArray()), "special values " + op);
    }

    [Test]
    public void SoftmaxLogSoftmaxAndBackward([Values(0, 2)] int axis, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Reference.Randn([5, 33, 517], dt, 61) * 4;
        var dy = Reference.Randn([5, 33, 517], dt, 62);
        var gx = Gpu.Strided(x.To(dev));
        var gdy = dy.To(dev);
        foreach (bool log in new[] { false, true })
        {
            var y = log ? x.LogSoftmax(axis) : x.Softmax(axis);
            var gy = log ? gx.LogSoftmax(axis) : gx.Softmax(axis);
            Gpu.Parity(gy, y, Gpu.Tol(dt), $"softmax log={log}");
            Gpu.Parity(gy.SoftmaxBackward(gdy, axis, log), y.SoftmaxBackward(dy, axis, log), Gpu.Tol(dt), $"softmax backward log={log}");
        }
        var inf = Tensor.Full([2, 4], double.NegativeInfinity, dt);
        Assert.That(Gpu.NormErr(inf.To(dev).Softmax().ToDoubleArray(), inf.Softmax().ToDoubleArray()), Is.EqualTo(0), "all −∞ rows");
    }

    [Test]
    public void CumsumAndLogCumSumExp([Values(0, 1)] int axis, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Reference.Randn([97, 203], dt, 71) * 30;
        var gx = Gpu.Strided(x.To(dev));
        Gpu.Parity(gx.Cumsum(axis), x.Cumsum(axis), Gpu.Tol(dt), "cumsum");
        Gpu.Parity(gx.LogCumSumExp(axis), x.LogCumSumExp(axis), Gpu.Tol(dt), "logcumsumexp");
        var big = Tensor.FromArray(new float[] { float.NegativeInfinity, 1000, -1000, 1000, float.NegativeInfinity });
        Assert.That(big.To(dev).LogCumSumExp(0).ToArray<float>(), Is.EqualTo(big.LogCumSumExp(0).ToArray<float>()), "running max never overflows");
    }

    [Test]
    public void CrossEntropyForwardBackwardWithIgnoredRows([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int n = 45, c = 1031;
        var logits = Reference.Randn([n, c], dt, 81) * 5;
        var t = new long[n];
        for (int i = 0; i < n; i++) t[i] = i % 7 == 3 ? -100 : (i * 131) % c;
        var targets = Tensor.FromArray(t);
        var (loss, lse) = Tensor.CrossEntropyRows(logits, targets);
        var gl = logits.To(dev);
        var gt = targets.To(dev);
        var (gloss, glse) = Tensor.CrossEntropyRows(gl, gt);
        Gpu.Parity(gloss, loss, Gpu.Tol(dt), "loss");
        Gpu.Parity(glse, lse, Gpu.Tol(dt), "lse");
        var dloss = Reference.Randn([n], dt, 82);
        Gpu.Parity(Tensor.CrossEntropyRowsBackward(gl, gt, glse, dloss.To(dev)), Tensor.CrossEntropyRowsBackward(logits, targets, lse, dloss), Gpu.Tol(dt), "dlogits");
        Gpu.Parity(Tensor.CrossEntropy(gl, gt), Tensor.CrossEntropy(logits, targets), Gpu.Tol(dt), "mean loss");

        t[5] = c + 3;
        var bad = Tensor.FromArray(t).To(dev);
        var e = Assert.Throws<ShapeException>(() => Tensor.CrossEntropyRows(gl, bad));
        Assert.That(e!.Message, Does.Contain($"target {c + 3} at row 5"));
    }
}
