namespace LightNet.Tests;

[Category("Kernels")]
public class ReduceTests
{
    private static double[] RefReduce(double[] x, int[] shape, int[] axes, Func<double[], double> f, out int[] outShape)
    {
        var kept = Enumerable.Range(0, shape.Length).Where(i => !axes.Contains(i)).ToArray();
        outShape = kept.Select(i => shape[i]).ToArray();
        var groups = new Dictionary<long, List<double>>();
        for (long i = 0; i < x.Length; i++)
        {
            var idx = Reference.Unravel(i, shape);
            long key = Reference.Ravel(kept.Select(k => idx[k]).ToArray(), outShape);
            if (!groups.TryGetValue(key, out var l)) groups[key] = l = [];
            l.Add(x[i]);
        }
        long n = outShape.Aggregate(1L, (a, b) => a * b);
        var r = new double[n];
        for (long k = 0; k < n; k++) r[k] = f(groups[k].ToArray());
        return r;
    }

    private static readonly Dictionary<ReduceOp, Func<double[], double>> Refs = new()
    {
        [ReduceOp.Sum] = v => v.Sum(),
        [ReduceOp.Mean] = v => v.Average(),
        [ReduceOp.Max] = v => v.Max(),
        [ReduceOp.Min] = v => v.Min(),
        [ReduceOp.ArgMax] = v => Array.IndexOf(v, v.Max()),
        [ReduceOp.ArgMin] = v => Array.IndexOf(v, v.Min()),
        [ReduceOp.LogSumExp] = v => { var m = v.Max(); return m + Math.Log(v.Sum(t => Math.Exp(t - m))); },
    };

    [Test]
    public void ReductionsOverAnyAxes([Values] ReduceOp op, [Values(DType.Float32, DType.Float64)] DType dt,
        [Values("0", "1", "2", "0,2", "", "1,2")] string axesText, [Values] bool keepDims)
    {
        if (op is ReduceOp.ArgMax or ReduceOp.ArgMin && axesText.Length != 1) return;
        using var s = DisposalScope.Begin();
        int[] shape = [5, 7, 3];
        var x = Reference.NonContiguous(Reference.Randn(shape, dt, 11));
        var axes = axesText.Length == 0 ? Array.Empty<int>() : axesText.Split(',').Select(int.Parse).ToArray();
        var y = x.Reduce(op, axes, keepDims);
        var all = axes.Length == 0 ? new[] { 0, 1, 2 } : axes;
        var r = RefReduce(x.ToDoubleArray(), shape, all, Refs[op], out var outShape);
        var expectShape = keepDims ? shape.Select((d, i) => all.Contains(i) ? 1 : d).ToArray() : outShape;
        Assert.That(y.Shape, Is.EqualTo(new Shape(expectShape)));
        Reference.Close(y, r, dt == DType.Float64 ? 1e-13 : 2e-6, op.ToString());
    }

    [Test]
    public void LongRowReductionIsChunkedAndIndependentOfThreadCount()
    {
        using var s = DisposalScope.Begin();
        var x = Reference.Randn([200001], DType.Float32, 12);
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.Threads = 1;
            var one = x.Sum().ToArray<float>()[0];
            var lse1 = x.LogSumExp().ToArray<float>()[0];
            Parallelism.Threads = 2;
            var two = x.Sum().ToArray<float>()[0];
            var lse2 = x.LogSumExp().ToArray<float>()[0];
            Assert.That(two, Is.EqualTo(one));
            Assert.That(lse2, Is.EqualTo(lse1));
            Assert.That((double)one, Is.EqualTo(x.ToDoubleArray().Sum()).Within(1e-2));
        }
        finally { Parallelism.Threads = saved; }
    }

    /// <summary>
    /// The four-stream sum of long-row pieces against float64 (lengths below, at and above the split, with and without a
    /// tail after the four quarters; the last element large), float32 and float64. Without AVX-512 (the CI's second pass) it
    /// is TensorPrimitives.Sum.
    /// </summary>
    [Test]
    public void StreamSumMatchesFloat64([Values(1, 511, 1023, 1024, 1037, 100003)] int n)
    {
        var rng = new Random(n);
        var v = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        v[n - 1] = 1e3;
        double want = v.Sum(), scale = v.Sum(Math.Abs);
        var f = v.Select(t => (float)t).ToArray();
        Assert.That(LightNet.Cpu.StreamSum.Sum<double>(v), Is.EqualTo(want).Within(1e-14 * scale), "f64");
        Assert.That((double)LightNet.Cpu.StreamSum.Sum<float>(f), Is.EqualTo(f.Sum(t => (double)t)).Within(1e-6 * scale), "f32");
    }

    [Test]
    public void VarianceUsesBesselCorrection()
    {
        using var s = DisposalScope.Begin();
        var x = Tensor.FromArray(new double[] { 1, 2, 3, 4 }, [2, 2]);
        Assert.That(x.Var().Item(), Is.EqualTo(5.0 / 3).Within(1e-15));
        Assert.That(x.Var([1], correction: 0).ToDoubleArray(), Is.EqualTo(new[] { 0.25, 0.25 }));
    }

    /// <summary>
    /// The vector max/min equals the exact element-wise definition: odd lengths (from 32781 on the span is read as four
    /// streams, its quarters, plus a tail; with AVX-512 only), NaN anywhere (each quarter, the tail), signed zeros, infinities.
    /// </summary>
    [Test]
    public void ExtremumMatchesIeeeDefinition([Values(1, 7, 31, 32, 33, 67, 257, 1001, 32781)] int n)
    {
        var rng = new Random(n);
        Check(Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 200 - 100).ToArray());
        var zeros = Enumerable.Range(0, n).Select(i => i % 3 == 0 ? -0.0 : -1.0 - i).ToArray();
        Check(zeros);
        zeros[n / 2] = 0.0;
        Check(zeros);
        Check(zeros.Select(v => -v).ToArray());
        foreach (int at in new[] { 0, Math.Min(n / 4 + 1, n - 1), n / 2, 3 * n / 4, n - 1 })
        {
            var a = Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray();
            a[at] = double.NaN;
            Check(a);
            a[at] = double.PositiveInfinity;
            Check(a);
            a[at] = double.NegativeInfinity;
            Check(a);
        }

        static void Check(double[] v)
        {
            double max = v.Aggregate(Math.Max), min = v.Aggregate(Math.Min);
            var f = v.Select(t => (float)t).ToArray();
            Assert.Multiple(() =>
            {
                Assert.That(BitConverter.DoubleToInt64Bits(LightNet.Cpu.Extremum.Max<double>(v)), Is.EqualTo(BitConverter.DoubleToInt64Bits(max)), "max f64");
                Assert.That(BitConverter.DoubleToInt64Bits(LightNet.Cpu.Extremum.Min<double>(v)), Is.EqualTo(BitConverter.DoubleToInt64Bits(min)), "min f64");
                Assert.That(BitConverter.SingleToInt32Bits(LightNet.Cpu.Extremum.Max<float>(f)), Is.EqualTo(BitConverter.SingleToInt32Bits((float)max)), "max f32");
                Assert.That(BitConverter.SingleToInt32Bits(LightNet.Cpu.Extremum.Min<float>(f)), Is.EqualTo(BitConverter.SingleToInt32Bits((float)min)), "min f32");
            });
        }
    }
}
