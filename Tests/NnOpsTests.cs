namespace LightNet.Tests;

[Category("Kernels")]
public class NnOpsTests
{
    [Test]
    public void SoftmaxAndLogSoftmaxOnAnyAxis([Values(0, 1, -1)] int axis, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var s = DisposalScope.Begin();
        int[] shape = [5, 6, 7];
        var x = Reference.NonContiguous(Reference.Randn(shape, dt, 31) * 3);
        var y = x.Softmax(axis);
        var ly = x.LogSoftmax(axis);
        int a = axis < 0 ? axis + 3 : axis;
        var xv = x.ToDoubleArray();
        var r = new double[xv.Length];
        var lr = new double[xv.Length];
        for (long i = 0; i < xv.Length; i++)
        {
            var idx = Reference.Unravel(i, shape);
            double m = double.NegativeInfinity;
            for (int j = 0; j < shape[a]; j++) { idx[a] = j; m = Math.Max(m, xv[Reference.Ravel(idx, shape)]); }
            double z = 0;
            for (int j = 0; j < shape[a]; j++) { idx[a] = j; z += Math.Exp(xv[Reference.Ravel(idx, shape)] - m); }
            r[i] = Math.Exp(xv[i] - m) / z;
            lr[i] = xv[i] - m - Math.Log(z);
        }
        Reference.Close(y, r, dt == DType.Float64 ? 1e-13 : 2e-6);
        Reference.Close(ly, lr, dt == DType.Float64 ? 1e-13 : 2e-6);
    }

    [Test]
    public void CumsumAndLogCumSumExp([Values(0, 1)] int axis, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var s = DisposalScope.Begin();
        int[] shape = [9, 5];
        var x = Reference.Randn(shape, dt, 32) * 30;
        var c = x.Cumsum(axis).ToDoubleArray();
        var l = x.LogCumSumExp(axis).ToDoubleArray();
        var xv = x.ToDoubleArray();
        for (long i = 0; i < xv.Length; i++)
        {
            var idx = Reference.Unravel(i, shape);
            int upto = idx[axis];
            double sum = 0; var terms = new List<double>();
            for (int j = 0; j <= upto; j++) { idx[axis] = j; double v = xv[Reference.Ravel(idx, shape)]; sum += v; terms.Add(v); }
            double m = terms.Max();
            double lse = m + Math.Log(terms.Sum(t => Math.Exp(t - m)));
            Assert.That(c[i], Is.EqualTo(sum).Within(dt == DType.Float64 ? 1e-10 : 1e-3));
            Assert.That(l[i], Is.EqualTo(lse).Within(dt == DType.Float64 ? 1e-12 : 1e-4));
        }
    }

    [Test]
    public void LogCumSumExpNeverOverflowsAndHandlesMinusInfinity()
    {
        using var s = DisposalScope.Begin();
        var x = Tensor.FromArray(new float[] { float.NegativeInfinity, 1000, -1000, 1000, float.NegativeInfinity });
        var y = x.LogCumSumExp(0).ToArray<float>();
        Assert.That(y[0], Is.EqualTo(float.NegativeInfinity));
        Assert.That(y[1], Is.EqualTo(1000f));
        Assert.That(y[2], Is.EqualTo(1000f));
        Assert.That(y[3], Is.EqualTo(1000f + (float)Math.Log(2)).Within(1e-3));
        Assert.That(y[4], Is.EqualTo(y[3]));
    }

    [Test]
    public void IndexSelectGatherScatterAndEmbedding()
    {
        using var s = DisposalScope.Begin();
        var x = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (double)i).ToArray(), [3, 4]);
        var idx = Tensor.FromArray(new long[] { 2, 0, 2 });
        Assert.That(x.IndexSelect(0, idx).ToDoubleArray(), Is.EqualTo(new double[] { 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11 }));
        Assert.That(x.IndexSelect(1, idx).ToDoubleArray(), Is.EqualTo(new double[] { 2, 0, 2, 6, 4, 6, 10, 8, 10 }));
        var ids = Tensor.FromArray(new long[] { 1, 2, 0, 1 }, [2, 2]);
        var e = Tensor.Embedding(x, ids);
        Assert.That(e.Shape, Is.EqualTo(new Shape(2, 2, 4)));
        var back = Tensor.IndexAdd([3, 4], 0, idx, Tensor.Ones([3, 4], DType.Float64));
        Assert.That(back.ToDoubleArray(), Is.EqualTo(new double[] { 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2 }));
        var gi = Tensor.FromArray(new long[] { 3, 0, 1, 1, 2, 2 }, [3, 2]);
        var g = x.Gather(1, gi);
        Assert.That(g.ToDoubleArray(), Is.EqualTo(new double[] { 3, 0, 5, 5, 10, 10 }));
        var sc = Tensor.Zeros([3, 4], DType.Float64).ScatterAdd(1, gi, g);
        Assert.That(sc.ToDoubleArray(), Is.EqualTo(new double[] { 0, 0, 0, 3, 0, 10, 0, 0, 0, 0, 20, 0 }));
    }

    [Test]
    public void ConcatStackSplit()
    {
        using var s = DisposalScope.Begin();
        var a = Reference.Randn([2, 3], DType.Float64, 1);
        var b = Reference.NonContiguous(Reference.Randn([2, 5], DType.Float64, 2));
        var c = Tensor.Concat([a, b], 1);
        Assert.That(c.Shape, Is.EqualTo(new Shape(2, 8)));
        var parts = c.Split([3, 5], 1);
        Assert.That(parts[0].ToDoubleArray(), Is.EqualTo(a.ToDoubleArray()));
        Assert.That(parts[1].ToDoubleArray(), Is.EqualTo(b.ToDoubleArray()));
        var st = Tensor.Stack([a, a], -1);
        Assert.That(st.Shape, Is.EqualTo(new Shape(2, 3, 2)));
        Assert.Throws<ShapeException>(() => Tensor.Concat([a, Reference.Randn([3, 3])], 1));
    }

    [Test]
    public void CrossEntropyWithIgnoreIndex([Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var s = DisposalScope.Begin();
        var logits = Reference.Randn([7, 11], dt, 41) * 2;
        var t = Tensor.FromArray(new long[] { 3, -100, 0, 10, 5, -100, 1 });
        var loss = Tensor.CrossEntropy(logits, t).Item();
        var lv = logits.ToDoubleArray();
        var tv = t.ToArray<long>();
        double sum = 0; int cnt = 0;
        for (int i = 0; i < 7; i++)
        {
            if (tv[i] == -100) continue;
            var row = lv.Skip(i * 11).Take(11).ToArray();
            double m = row.Max();
            sum += m + Math.Log(row.Sum(v => Math.Exp(v - m))) - row[tv[i]];
            cnt++;
        }
        Assert.That(loss, Is.EqualTo(sum / cnt).Within(dt == DType.Float64 ? 1e-13 : 1e-5));
        var bad = Tensor.FromArray(new long[] { 3, 11, 0, 0, 0, 0, 0 });
        Assert.Throws<ShapeException>(() => Tensor.CrossEntropy(logits, bad));
    }

    [Test]
    public void CrossEntropyBackwardChecksLseAndDloss()
    {
        using var s = DisposalScope.Begin();
        var logits = Reference.Randn([7, 11], DType.Float64, 43);
        var t = Tensor.FromArray(new long[] { 3, -100, 0, 10, 5, -100, 1 });
        var (_, lse) = Tensor.CrossEntropyRows(logits, t);
        var d = Tensor.Ones([7], DType.Float64);
        Assert.DoesNotThrow(() => Tensor.CrossEntropyRowsBackward(logits, t, lse, d));
        var e = Assert.Throws<ShapeException>(() => Tensor.CrossEntropyRowsBackward(logits, t, Tensor.Zeros([7], DType.Float32), d))!;
        Assert.That(e.Message, Does.Contain("cross_entropy_backward").And.Contain("'lse'").And.Contain("float64"));
        e = Assert.Throws<ShapeException>(() => Tensor.CrossEntropyRowsBackward(logits, t, Tensor.Zeros([6], DType.Float64), d))!;
        Assert.That(e.Message, Does.Contain("'lse'").And.Contain("[6]"));
        e = Assert.Throws<ShapeException>(() => Tensor.CrossEntropyRowsBackward(logits, t, lse, Tensor.Ones([7, 1], DType.Float64)))!;
        Assert.That(e.Message, Does.Contain("'dloss'"));
    }

    [Test]
    public void RmsNormAndLayerNormMatchReference([Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var s = DisposalScope.Begin();
        int n = 37;
        var x = Reference.NonContiguous(Reference.Randn([5, 3, n], dt, 51));
        var w = Reference.Randn([n], dt, 52);
        var b = Reference.Randn([n], dt, 53);
        var (y, _) = Tensor.RmsNorm(x, w, 1e-6);
        var (ly, _, _) = Tensor.LayerNorm(x, w, b, 1e-5);
        var xv = x.ToDoubleArray(); var wv = w.ToDoubleArray(); var bv = b.ToDoubleArray();
        var r = new double[xv.Length]; var lr = new double[xv.Length];
        for (int row = 0; row < 15; row++)
        {
            var seg = xv.Skip(row * n).Take(n).ToArray();
            double rs = 1 / Math.Sqrt(seg.Sum(v => v * v) / n + 1e-6);
            double mu = seg.Average();
            double ls = 1 / Math.Sqrt(seg.Sum(v => (v - mu) * (v - mu)) / n + 1e-5);
            for (int i = 0; i < n; i++) { r[row * n + i] = seg[i] * rs * wv[i]; lr[row * n + i] = (seg[i] - mu) * ls * wv[i] + bv[i]; }
        }
        Reference.Close(y, r, dt == DType.Float64 ? 1e-13 : 2e-6);
        Reference.Close(ly, lr, dt == DType.Float64 ? 1e-13 : 2e-6);
    }

    /// <summary>Outputs of ≥ 32 MiB take the non-temporal store path: rows aligned (n = 4096) and misaligned (n odd) both match float64.</summary>
    [Test]
    public void RmsNormLargeOutputMatchesReference([Values(4096, 4099)] int n)
    {
        using var s = DisposalScope.Begin();
        int rows = (int)((33L << 20) / 4 / n) + 1;
        var x = Tensor.RandN([rows, n], new Generator(61));
        var w = Tensor.RandN([n], new Generator(62));
        var (y, _) = Tensor.RmsNorm(x, w, 1e-6);
        var xv = x.ToArray<float>(); var wv = w.ToArray<float>(); var yv = y.ToArray<float>();
        double worst = 0;
        for (int r = 0; r < rows; r += 7)
        {
            double ss = 0;
            for (int i = 0; i < n; i++) ss += (double)xv[(long)r * n + i] * xv[(long)r * n + i];
            double rs = 1 / Math.Sqrt(ss / n + 1e-6);
            for (int i = 0; i < n; i++)
            {
                double want = xv[(long)r * n + i] * rs * wv[i];
                worst = Math.Max(worst, Math.Abs(yv[(long)r * n + i] - want) / (Math.Abs(want) + 1e-6));
            }
        }
        Assert.That(worst, Is.LessThan(2e-6));
    }

    /// <summary>SwiGLU forward and backward against float64 on odd sizes (vector body, padded tail, large |gate|) and strided inputs; shape errors name the op.</summary>
    [Test]
    public void SwiGluMatchesReference([Values(DType.Float32, DType.Float64)] DType dt, [Values(1, 13, 1031)] int n)
    {
        using var s = DisposalScope.Begin();
        var a = Reference.NonContiguous(Reference.Randn([3, n], dt, 71) * 30);
        var b = Reference.Randn([3, n], dt, 72);
        var dy = Reference.Randn([3, n], dt, 73);
        var av = a.ToDoubleArray(); var bv = b.ToDoubleArray(); var gv = dy.ToDoubleArray();
        var y = Tensor.SwiGlu(a, b).ToDoubleArray();
        var (da, db) = Tensor.SwiGluBackward(a, b, dy);
        var dav = da.ToDoubleArray(); var dbv = db.ToDoubleArray();
        double tol = dt == DType.Float64 ? 1e-13 : 3e-6;
        for (int i = 0; i < av.Length; i++)
        {
            double x = av[i], sg = 1 / (1 + Math.Exp(-x));
            double wantDa = gv[i] * bv[i] * sg * (1 + x * (1 - sg)), scale = Math.Abs(gv[i] * bv[i] * sg) * (1 + Math.Abs(x * (1 - sg)));
            Assert.That(y[i], Is.EqualTo(x * sg * bv[i]).Within(tol * (Math.Abs(x * sg * bv[i]) + 1e-30)), $"y at {i}");
            Assert.That(dbv[i], Is.EqualTo(gv[i] * x * sg).Within(tol * (Math.Abs(gv[i] * x * sg) + 1e-30)), $"dUp at {i}");
            Assert.That(dav[i], Is.EqualTo(wantDa).Within(tol * (scale + 1e-30)), $"dGate at {i}");
        }
        var e = Assert.Throws<ShapeException>(() => Tensor.SwiGlu(a, Tensor.Zeros([3, n + 1], dt)));
        Assert.That(e!.Message, Does.Contain("swiglu").And.Contain("'up'"));
    }

    /// <summary>The fused output gate against float64 (forward, dx, dw, du) on odd widths with strided x, and equal to RMSNorm then SwiGLU.</summary>
    [Test]
    public void RmsNormGateMatchesReference([Values(DType.Float32, DType.Float64)] DType dt, [Values(5, 37, 1031)] int n)
    {
        using var s = DisposalScope.Begin();
        int rows = 70; // more than one chunk of rows for the weight gradient
        var x = Reference.NonContiguous(Reference.Randn([rows, n], dt, 81));
        var w = Reference.Randn([n], dt, 82);
        var u = Reference.Randn([rows, n], dt, 83) * 3;
        var dy = Reference.Randn([rows, n], dt, 84);
        var (y, rstd) = Tensor.RmsNormGate(x, w, u, 1e-6);
        var (dx, dw, du) = Tensor.RmsNormGateBackward(x, w, u, rstd, dy);
        var xv = x.ToDoubleArray(); var wv = w.ToDoubleArray(); var uv = u.ToDoubleArray(); var gv = dy.ToDoubleArray();
        var ry = new double[xv.Length]; var rdx = new double[xv.Length]; var rdu = new double[xv.Length]; var rdw = new double[n];
        for (int r = 0; r < rows; r++)
        {
            int o = r * n;
            double rs = 1 / Math.Sqrt(Enumerable.Range(0, n).Sum(i => xv[o + i] * xv[o + i]) / n + 1e-6), dot = 0;
            var g = new double[n];
            for (int i = 0; i < n; i++)
            {
                double sg = 1 / (1 + Math.Exp(-uv[o + i])), silu = uv[o + i] * sg, a = xv[o + i] * rs * wv[i];
                ry[o + i] = a * silu;
                rdu[o + i] = gv[o + i] * a * sg * (1 + uv[o + i] * (1 - sg));
                double ga = gv[o + i] * silu;
                rdw[i] += ga * xv[o + i] * rs;
                g[i] = ga * wv[i];
                dot += xv[o + i] * g[i];
            }
            dot /= n;
            for (int i = 0; i < n; i++) rdx[o + i] = g[i] * rs - xv[o + i] * dot * rs * rs * rs;
        }
        double tol = dt == DType.Float64 ? 1e-12 : 2e-5;
        Reference.Close(y, ry, tol, "y");
        Reference.Close(dx, rdx, tol, "dx");
        Reference.Close(du, rdu, tol, "du");
        Reference.Close(dw, rdw, tol, "dw");
        var (n2, _) = Tensor.RmsNorm(x, w, 1e-6);
        Reference.Close(y, Tensor.SwiGlu(u, n2).ToDoubleArray(), dt == DType.Float64 ? 1e-14 : 1e-6, "= RMSNorm then SwiGLU");
        var e = Assert.Throws<ShapeException>(() => Tensor.RmsNormGate(x, w, Tensor.Zeros([rows, n + 1], dt), 1e-6));
        Assert.That(e!.Message, Does.Contain("rms_norm_gate").And.Contain("'u'"));
    }
}
