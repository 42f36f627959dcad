namespace LightNet.Tests;

/// <summary>
/// bfloat16 storage with float32 compute on CUDA: inputs drawn in float32 and rounded to bfloat16, each op run on the
/// GPU in bfloat16 and compared with the CPU float32 op on the same rounded values (inputs of a backward included).
/// Bound: ‖a − b‖² / ‖b‖² ≤ 1e-4 (the output's rounding alone is ≤ 2⁻⁹ relative per element, ≈ 4e-6 squared).
/// Shapes are odd on purpose; strided inputs where the op accepts them.
/// </summary>
[Category("Cuda")]
public class CudaBf16Tests
{
    private const double Tol = 1e-4;

    /// <summary>N(0, scale²) values rounded to bfloat16, on the CPU.</summary>
    private static Tensor Bf(int[] shape, ulong seed, double scale = 1, double shift = 0)
    {
        using var f = Reference.Randn(shape, DType.Float32, seed);
        using var s = f * scale + shift;
        return s.To(DType.BFloat16);
    }

    /// <summary>Positive values in [0.5, 3) rounded to bfloat16 (for log, sqrt, division, powers).</summary>
    private static Tensor BfPositive(int[] shape, ulong seed)
    {
        using var f = Tensor.Rand(shape, new Generator(seed), DType.Float32, low: 0.5, high: 3);
        return f.To(DType.BFloat16);
    }

    /// <summary>The float32 CPU copy of a tensor's (rounded) values: the reference's input.</summary>
    private static Tensor F32(Tensor t)
    {
        using var h = t.To(Device.Cpu);
        return h.To(DType.Float32);
    }

    /// <summary>Asserts a bfloat16 CUDA result against the float32 CPU reference.</summary>
    private static void Close(Tensor gpu, Tensor cpu, string what, double tol = Tol)
    {
        Assert.That(gpu.Device.Kind, Is.EqualTo(DeviceKind.Cuda), what + ": result is not on the GPU");
        Assert.That(gpu.DType, Is.EqualTo(cpu.DType == DType.Int64 ? DType.Int64 : DType.BFloat16), what + ": dtype");
        Assert.That(gpu.Shape, Is.EqualTo(cpu.Shape), what + ": shape");
        var e = Gpu.NormErr(gpu.ToDoubleArray(), cpu.ToDoubleArray());
        Assert.That(e, Is.LessThanOrEqualTo(tol), $"{what}: normalised error {e:G3} > {tol:G3}");
    }

    [Test]
    public void UnaryForwardBackward([Values] UnaryOp op)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        bool positive = op is UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Rsqrt or UnaryOp.Reciprocal;
        var x = positive ? BfPositive([37, 53], 301) : Bf([37, 53], 301, 2);
        var dy = Bf([37, 53], 302);
        var gx = Gpu.Strided(x.To(dev));
        var gy = gx.Apply(op);
        Close(gy, F32(x).Apply(op), op.ToString());
        var gdx = gx.ApplyBackward(op, gy, dy.To(dev));
        Close(gdx, F32(x).ApplyBackward(op, F32(gy), F32(dy)), op + " backward");
    }

    [Test]
    public void SwiGluForwardBackward()
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var a = Bf([29, 131], 311, 2);
        var b = Bf([29, 131], 312);
        var dy = Bf([29, 131], 313);
        Close(Tensor.SwiGlu(Gpu.Strided(a.To(dev)), b.To(dev)), Tensor.SwiGlu(F32(a), F32(b)), "swiglu");
        var (da, db) = Tensor.SwiGluBackward(a.To(dev), Gpu.Strided(b.To(dev)), dy.To(dev));
        var (ra, rb) = Tensor.SwiGluBackward(F32(a), F32(b), F32(dy));
        Close(da, ra, "swiglu dgate");
        Close(db, rb, "swiglu dup");
    }

    [Test]
    public void BinaryBroadcastsStrided([Values] BinaryOp op)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var a = op == BinaryOp.Pow ? BfPositive([5, 1, 37], 321) : Bf([5, 1, 37], 321);
        var b = op is BinaryOp.Div or BinaryOp.Pow ? BfPositive([7, 37], 322) : Bf([7, 37], 322);
        var ga = Gpu.Strided(a.To(dev));
        var gb = Gpu.Strided(b.To(dev));
        Close(Tensor.Binary(op, ga, gb), Tensor.Binary(op, F32(a), F32(b)), op.ToString());
        Close(Tensor.Binary(op, gb, ga), Tensor.Binary(op, F32(b), F32(a)), op + " swapped");
    }

    [Test]
    public void WhereFillAndScalars()
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var a = Bf([9, 41], 331);
        var b = Bf([41], 332);
        using var c32 = Reference.Randn([9, 1], DType.Float32, 333).Gt(0);
        var c = c32.To(DType.BFloat16);
        Close(Tensor.Where(c.To(dev), Gpu.Strided(a.To(dev)), b.To(dev)), Tensor.Where(F32(c), F32(a), F32(b)), "where");
        var full = Tensor.Full([33, 17], 1.2345, DType.BFloat16, dev);
        Assert.That(full.ToDoubleArray(), Is.EqualTo(Tensor.Full([33, 17], 1.2345, DType.BFloat16).ToDoubleArray()), "fill");
        Close(a.To(dev) * 0.37 - 1.5, F32(a) * 0.37 - 1.5, "scalar ops");
    }

    [Test]
    public void ReductionsOverAxes([Values(ReduceOp.Sum, ReduceOp.Mean, ReduceOp.Max, ReduceOp.Min, ReduceOp.LogSumExp, ReduceOp.ArgMax)] ReduceOp op)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Bf([19, 23, 29], 341, 2, 0.3);
        var gx = Gpu.Strided(x.To(dev));
        var rx = F32(x);
        foreach (var axes in new[] { new[] { 1 }, [0, 2], [2] })
            Close(gx.Reduce(op, axes), rx.Reduce(op, axes), $"{op} over [{string.Join(", ", axes)}]");
        if (op != ReduceOp.ArgMax) Close(gx.Reduce(op), rx.Reduce(op), op + " over all");
    }

    [Test]
    public void SoftmaxForwardBackward([Values(false, true)] bool log, [Values(-1, 0)] int axis)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Bf([31, 517], 351, 3);
        var dy = Bf([31, 517], 352);
        var gx = Gpu.Strided(x.To(dev));
        var gy = log ? gx.LogSoftmax(axis) : gx.Softmax(axis);
        Close(gy, log ? F32(x).LogSoftmax(axis) : F32(x).Softmax(axis), log ? "log_softmax" : "softmax");
        Close(gy.SoftmaxBackward(dy.To(dev), axis, log), F32(gy).SoftmaxBackward(F32(dy), axis, log), "softmax backward");
    }

    [Test]
    public void CrossEntropyForwardBackward()
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int rows = 37, classes = 1001;
        var logits = Bf([rows, classes], 361, 3);
        var t = new long[rows];
        for (int r = 0; r < rows; r++) t[r] = r % 7 == 3 ? -100 : (r * 131 + 17) % classes;
        var targets = Tensor.FromArray(t);
        var gl = logits.To(dev);
        var gt = targets.To(dev);
        var (loss, lse) = Tensor.CrossEntropyRows(gl, gt);
        var (rloss, rlse) = Tensor.CrossEntropyRows(F32(logits), targets);
        Close(loss, rloss, "cross_entropy loss");
        // The log-sum-exp the backward reads stays float32 (accumulated in float32 from the same bf16 values as the reference).
        Assert.That(lse.DType, Is.EqualTo(DType.Float32), "cross_entropy lse dtype");
        Assert.That(Gpu.NormErr(lse.ToDoubleArray(), rlse.ToDoubleArray()), Is.LessThanOrEqualTo(1e-10), "cross_entropy lse");
        Close(Tensor.CrossEntropy(gl, gt), Tensor.CrossEntropy(F32(logits), targets), "mean cross_entropy");
        var dloss = Bf([rows], 362);
        // The backward's inputs are the float32 lse and the rounded dloss, as the bfloat16 forward hands them on.
        Close(Tensor.CrossEntropyRowsBackward(gl, gt, lse, dloss.To(dev)), Tensor.CrossEntropyRowsBackward(F32(logits), targets, F32(lse), F32(dloss)), "cross_entropy backward");
    }

    [Test]
    public void RmsNormForwardBackward([Values(false, true)] bool withWeight)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Bf([67, 301], 371, 2);
        var w = withWeight ? Bf([301], 372, 0.5, 1) : null;
        var dy = Bf([67, 301], 373);
        var (gy, grstd) = Tensor.RmsNorm(Gpu.Strided(x.To(dev)), w?.To(dev), 1e-6);
        var (ry, rrstd) = Tensor.RmsNorm(F32(x), w == null ? null : F32(w), 1e-6);
        Close(gy, ry, "rms_norm y");
        Close(grstd, rrstd, "rms_norm rstd");
        var (gdx, gdw) = Tensor.RmsNormBackward(x.To(dev), w?.To(dev), grstd, Gpu.Strided(dy.To(dev)));
        var (rdx, rdw) = Tensor.RmsNormBackward(F32(x), w == null ? null : F32(w), F32(grstd), F32(dy));
        Close(gdx, rdx, "rms_norm dx");
        if (withWeight) Close(gdw!, rdw!, "rms_norm dw");
    }

    [Test]
    public void RmsNormGateForwardBackward()
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Bf([67, 301], 381);
        var w = Bf([301], 382, 0.5, 1);
        var u = Bf([67, 301], 383, 3);
        var dy = Bf([67, 301], 384);
        var (gy, grstd) = Tensor.RmsNormGate(Gpu.Strided(x.To(dev)), w.To(dev), u.To(dev), 1e-6);
        var (ry, rrstd) = Tensor.RmsNormGate(F32(x), F32(w), F32(u), 1e-6);
        Close(gy, ry, "rms_norm_gate y");
        Close(grstd, rrstd, "rms_norm_gate rstd");
        var (gdx, gdw, gdu) = Tensor.RmsNormGateBackward(x.To(dev), w.To(dev), Gpu.Strided(u.To(dev)), grstd, dy.To(dev));
        var (rdx, rdw, rdu) = Tensor.RmsNormGateBackward(F32(x), F32(w), F32(u), F32(grstd), F32(dy));
        Close(gdx, rdx, "rms_norm_gate dx");
        Close(gdw, rdw, "rms_norm_gate dw");
        Close(gdu, rdu, "rms_norm_gate du");
    }

    [Test]
    public void LayerNormForwardBackward()
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Bf([45, 203], 391, 2, 0.7);
        var w = Bf([203], 392, 0.5, 1);
        var b = Bf([203], 393);
        var dy = Bf([45, 203], 394);
        var (gy, gmean, grstd) = Tensor.LayerNorm(Gpu.Strided(x.To(dev)), w.To(dev), b.To(dev), 1e-5);
        var (ry, rmean, rrstd) = Tensor.LayerNorm(F32(x), F32(w), F32(b), 1e-5);
        Close(gy, ry, "layer_norm y");
        Close(gmean, rmean, "layer_norm mean");
        Close(grstd, rrstd, "layer_norm rstd");
        var (gdx, gdw, gdb) = Tensor.LayerNormBackward(x.To(dev), w.To(dev), true, gmean, grstd, dy.To(dev));
        var (rdx, rdw, rdb) = Tensor.LayerNormBackward(F32(x), F32(w), true, F32(gmean), F32(grstd), F32(dy));
        Close(gdx, rdx, "layer_norm dx");
        Close(gdw!, rdw!, "layer_norm dw");
        Close(gdb!, rdb!, "layer_norm db");
    }

    [Test]
    public void EmbeddingLookupAndIndexAdd([Values(13, 300)] int inner)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int n = 1100, m = 700;
        var ids = new long[m];
        for (int j = 0; j < m; j++) ids[j] = (j * 37 + j / 3) % n;
        ids[5] = ids[600] = ids[699] = 1099; // one row three times
        var idx = Tensor.FromArray(ids);
        var table = Bf([n, inner], 401);
        var gi = idx.To(dev);
        var rows = Tensor.Embedding(Gpu.Strided(table.To(dev)), gi);
        Assert.That(rows.ToDoubleArray(), Is.EqualTo(Tensor.Embedding(table, idx).ToDoubleArray()), "embedding rows are copied bit for bit");
        // inner 300 with 700 ids takes the tiled kernel, inner 13 the per-column one; both add in index order in float32.
        var src = Bf([m, inner], 402);
        var gsrc = Gpu.Strided(src.To(dev));
        var y = Tensor.IndexAdd([n, inner], 0, gi, gsrc);
        Close(y, Tensor.IndexAdd([n, inner], 0, idx, F32(src)), "index_add");
        var again = Tensor.IndexAdd([n, inner], 0, gi, gsrc);
        Assert.That(again.ToDoubleArray(), Is.EqualTo(y.ToDoubleArray()), "index_add is deterministic");
    }

    [Test]
    public void AdamWAndSgdUpdates()
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int n = 1001;
        var p = Bf([n], 411);
        var g = Bf([n], 412, 0.1);
        var m = Bf([n], 413, 0.05);
        using var v32 = Reference.Randn([n], DType.Float32, 414) * 0.01;
        using var sq = v32.Square();
        var v = sq.To(DType.BFloat16);
        var step = new AdamWStep(1e-3, 0.9, 0.95, 1e-8, 0.1, 7);
        var (gp, gm, gv) = (p.To(dev), m.To(dev), v.To(dev));
        var (rp, rm, rv) = (F32(p), F32(m), F32(v));
        Optimizers.AdamW(gp, g.To(dev), gm, gv, step);
        Optimizers.AdamW(rp, F32(g), rm, rv, step);
        Close(gp, rp, "adamw param");
        Close(gm, rm, "adamw exp_avg");
        Close(gv, rv, "adamw exp_avg_sq");
        foreach (bool momentum in new[] { false, true })
        {
            var sp = p.To(dev);
            var rsp = F32(p);
            var buf = momentum ? m.To(dev) : null;
            var rbuf = momentum ? F32(m) : null;
            Optimizers.Sgd(sp, g.To(dev), buf, 0.05, 0.9, 0.01);
            Optimizers.Sgd(rsp, F32(g), rbuf, 0.05, 0.9, 0.01);
            Close(sp, rsp, $"sgd param (momentum {momentum})");
            if (momentum) Close(buf!, rbuf!, "sgd momentum buffer");
        }
    }

    /// <summary>An op without a bfloat16 kernel, per family (index, encodings), throws naming itself (matrix products take bfloat16: Bf16StorageTests).</summary>
    [TestCase("scatter_add")]
    [TestCase("toeplitz")]
    public void OpWithoutBf16KernelThrowsNamingIt(string op)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Bf([4, 6], 421).To(dev);
        Action call = op switch
        {
            "scatter_add" => () => x.ScatterAdd(0, Tensor.Zeros([2, 6], DType.Int64, dev), Bf([2, 6], 422).To(dev)),
            _ => () => Tensor.Toeplitz(Bf([1, 6, 4], 424).To(dev), Bf([11, 4], 425).To(dev), new ToeplitzPlan([6], algorithm: ToeplitzAlgorithm.Direct)),
        };
        var e = Assert.Throws<ShapeException>(() => call());
        Assert.That(e!.Message, Does.Contain($"dtype bfloat16 is not supported on cuda for {op}"));
    }
}
