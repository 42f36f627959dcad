using LightNet.Autograd;

namespace LightNet.Tests;

[Category("Encodings")]
public class TpeTests
{
    /// <summary>Plain float64 reference: grid rows (residual ? X : 0) + Σ_p' t_(p−p') X_p', extras copied.</summary>
    internal static double[] RefToeplitz(double[] x, double[] kern, int batch, int c, int[] grid, int l, bool causal, bool residual)
    {
        int n = grid.Aggregate(1, (a, b) => a * b), s = l + n, k = grid.Length;
        var kg = grid.Select(v => 2 * v - 1).ToArray();
        var y = new double[x.Length];
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < l * c; i++) y[b * s * c + i] = x[b * s * c + i];
            for (int p = 0; p < n; p++)
            {
                var pi = Reference.Unravel(p, grid);
                for (int ch = 0; ch < c; ch++)
                {
                    double acc = residual ? x[(b * s + l + p) * c + ch] : 0;
                    for (int q = 0; q < n; q++)
                    {
                        var qi = Reference.Unravel(q, grid);
                        var idx = new int[k];
                        for (int a = 0; a < k; a++) idx[a] = pi[a] - qi[a] + grid[a] - 1;
                        if (causal && pi[0] < qi[0]) continue;
                        acc += kern[Reference.Ravel(idx, kg) * c + ch] * x[(b * s + l + q) * c + ch];
                    }
                    y[(b * s + l + p) * c + ch] = acc;
                }
            }
        }
        return y;
    }

    private static int N(int[] grid) => grid.Aggregate(1, (a, b) => a * b);

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new[] { 5, 7 }, 0, false, true).SetArgDisplayNames("5x7");
        yield return new TestCaseData(new[] { 3, 4, 6 }, 0, false, true).SetArgDisplayNames("3x4x6");
        yield return new TestCaseData(new[] { 11 }, 0, false, true).SetArgDisplayNames("1d-11");
        yield return new TestCaseData(new[] { 11 }, 0, true, true).SetArgDisplayNames("1d-11-causal");
        yield return new TestCaseData(new[] { 4, 3 }, 2, false, false).SetArgDisplayNames("4x3-extra2-replace");
        yield return new TestCaseData(new[] { 9 }, 1, true, false).SetArgDisplayNames("1d-9-causal-extra1-replace");
    }

    [TestCaseSource(nameof(Cases))]
    public void DirectAndFftMatchThePlainReferenceAndEachOther(int[] grid, int l, bool causal, bool residual)
    {
        using var s = DisposalScope.Begin();
        int b = 2, c = 37; // 37 = two 4-vector slices + a tail in float64, one slice + tail in float32
        var plan = new ToeplitzPlan(grid, l, causal, residual);
        var x = Reference.Randn([b, l + N(grid), c], DType.Float64, 1);
        var kern = Reference.Randn(plan.KernelShape(c), DType.Float64, 2);
        var dy = Reference.Randn([b, l + N(grid), c], DType.Float64, 3);
        var yd = Tensor.Toeplitz(x, kern, plan.With(ToeplitzAlgorithm.Direct));
        var yf = Tensor.Toeplitz(x, kern, plan.With(ToeplitzAlgorithm.Fft));
        var r = RefToeplitz(x.ToDoubleArray(), kern.ToDoubleArray(), b, c, grid, l, causal, residual);
        Reference.Close(yd, r, 1e-13, "direct vs reference");
        Reference.Close(yf, yd, 1e-10, "fft vs direct");
        var (dxd, dkd) = Tensor.ToeplitzBackward(x, kern, dy, plan.With(ToeplitzAlgorithm.Direct));
        var (dxf, dkf) = Tensor.ToeplitzBackward(x, kern, dy, plan.With(ToeplitzAlgorithm.Fft));
        Reference.Close(dxf!, dxd!, 1e-10, "dx fft vs direct");
        Reference.Close(dkf!, dkd!, 1e-10, "dkernel fft vs direct");
        // The adjoint identity <dy, T x> = <T* dy, x> (+ kernel side) pins the backward to the forward.
        using var yz = Tensor.Toeplitz(x, kern, new ToeplitzPlan(grid, l, causal, residual: false, ToeplitzAlgorithm.Direct));
        using var dyGrid = dy.Narrow(1, l, N(grid));
        using var yzGrid = yz.Narrow(1, l, N(grid));
        double lhs = Dot(dyGrid, yzGrid), rhsK = Dot(dkd!, kern);
        Assert.That(rhsK, Is.EqualTo(lhs).Within(1e-9 * Math.Max(1, Math.Abs(lhs))), "<dy, T x> = <dkernel, t>");
        if (causal)
        {
            var dk = dkd!.ToDoubleArray();
            for (int f = 0; f < grid[0] - 1; f++)
                for (int ch = 0; ch < c; ch++) Assert.That(dk[f * c + ch], Is.EqualTo(0.0), "masked offsets get no gradient");
        }
    }

    private static double Dot(Tensor a, Tensor b)
    {
        var x = a.ToDoubleArray(); var y = b.ToDoubleArray();
        double s = 0;
        for (int i = 0; i < x.Length; i++) s += x[i] * y[i];
        return s;
    }

    [Test]
    public void Float32FftAndDirectAreCloseToFloat64([Values(ToeplitzAlgorithm.Direct, ToeplitzAlgorithm.Fft)] ToeplitzAlgorithm algo)
    {
        using var s = DisposalScope.Begin();
        int[] grid = [6, 5];
        int c = 37;
        var plan = new ToeplitzPlan(grid, 1, algorithm: algo);
        var x = Reference.Randn([2, 31, c], DType.Float64, 4);
        var kern = Reference.Randn(plan.KernelShape(c), DType.Float64, 5);
        var dy = Reference.Randn([2, 31, c], DType.Float64, 6);
        var y64 = Tensor.Toeplitz(x, kern, plan.With(ToeplitzAlgorithm.Direct));
        var y32 = Tensor.Toeplitz(x.To(DType.Float32), kern.To(DType.Float32), plan);
        Reference.Close(y32, y64, 2e-6, "y");
        var (dx64, dk64) = Tensor.ToeplitzBackward(x, kern, dy, plan.With(ToeplitzAlgorithm.Direct));
        var (dx32, dk32) = Tensor.ToeplitzBackward(x.To(DType.Float32), kern.To(DType.Float32), dy.To(DType.Float32), plan);
        Reference.Close(dx32!, dx64!, 2e-6, "dx");
        Reference.Close(dk32!, dk64!, 2e-6, "dkernel");
    }

    [Test]
    public void CausalModeIgnoresTheFuture([Values(ToeplitzAlgorithm.Direct, ToeplitzAlgorithm.Fft)] ToeplitzAlgorithm algo)
    {
        using var s = DisposalScope.Begin();
        int n = 17, c = 3, t0 = 8;
        var plan = new ToeplitzPlan([n], causal: true, algorithm: algo);
        var x = Reference.Randn([1, n, c], DType.Float64, 7);
        var kern = Reference.Randn(plan.KernelShape(c), DType.Float64, 8);
        var x2 = x.Clone();
        using (var fut = x2.Narrow(1, t0 + 1, n - t0 - 1)) fut.CopyFrom(Reference.Randn([1, n - t0 - 1, c], DType.Float64, 9));
        // Changing the masked half of the kernel changes nothing either.
        var k2 = kern.Clone();
        using (var neg = k2.Narrow(0, 0, n - 1)) neg.CopyFrom(Reference.Randn([n - 1, c], DType.Float64, 10));
        var y = Tensor.Toeplitz(x, kern, plan).Narrow(1, 0, t0 + 1).ToDoubleArray();
        var y2 = Tensor.Toeplitz(x2, k2, plan).Narrow(1, 0, t0 + 1).ToDoubleArray();
        for (int i = 0; i < y.Length; i++) Assert.That(y2[i], Is.EqualTo(y[i]).Within(1e-12));
    }

    [Test]
    public void TranslationEquivariantInTheInterior([Values(ToeplitzAlgorithm.Direct, ToeplitzAlgorithm.Fft)] ToeplitzAlgorithm algo)
    {
        using var s = DisposalScope.Begin();
        int[] grid = [9, 10];
        int c = 4;
        var plan = new ToeplitzPlan(grid, residual: false, algorithm: algo);
        var kern = Reference.Randn(plan.KernelShape(c), DType.Float64, 11);
        var patch = Reference.Randn([3, 2, c], DType.Float64, 12);
        Tensor Placed(int r, int col)
        {
            var z = Tensor.Zeros([grid[0], grid[1], c], DType.Float64);
            using var v = z.Narrow(0, r, 3).Narrow(1, col, 2);
            v.CopyFrom(patch);
            return z.Reshape(1, N(grid), c);
        }
        int sr = 3, sc = 4;
        var y = Tensor.Toeplitz(Placed(1, 2), kern, plan).Reshape(grid[0], grid[1], c).ToDoubleArray();
        var ys = Tensor.Toeplitz(Placed(1 + sr, 2 + sc), kern, plan).Reshape(grid[0], grid[1], c).ToDoubleArray();
        for (int i = sr; i < grid[0]; i++)
            for (int j = sc; j < grid[1]; j++)
                for (int ch = 0; ch < c; ch++)
                    Assert.That(ys[(i * grid[1] + j) * c + ch], Is.EqualTo(y[((i - sr) * grid[1] + j - sc) * c + ch]).Within(1e-12), $"({i},{j},{ch})");
    }

    private static MdTpe Module(int k, int c, bool causal, bool residual, ToeplitzAlgorithm algo, ulong seed)
    {
        var m = new MdTpe(k, c, rpeDim: 4, rpeLayers: 1, causal: causal, residual: residual, dtype: DType.Float64, gen: new Generator(seed)) { Algorithm = algo };
        // Random biases and decays near 4.6 so that every parameter matters.
        var g = new Generator(seed + 1);
        foreach (var name in m.Parameters.Keys.ToList())
        {
            var p = m.Parameters[name];
            using var v = name == "decay" ? Tensor.RandN(p.Shape, g, DType.Float64, mean: 1.0, std: 0.5) : Tensor.RandN(p.Shape, g, DType.Float64, std: 0.5);
            m.Load(name, v);
        }
        return m;
    }

    public static IEnumerable<TestCaseData> GradCases()
    {
        foreach (var algo in new[] { ToeplitzAlgorithm.Direct, ToeplitzAlgorithm.Fft })
        {
            yield return new TestCaseData(new[] { 3, 4 }, 1, false, true, algo).SetArgDisplayNames("3x4-extra1", algo.ToString());
            yield return new TestCaseData(new[] { 7 }, 0, true, true, algo).SetArgDisplayNames("1d-7-causal", algo.ToString());
            yield return new TestCaseData(new[] { 2, 2, 3 }, 0, false, false, algo).SetArgDisplayNames("2x2x3-replace", algo.ToString());
        }
    }

    [TestCaseSource(nameof(GradCases))]
    public void GradCheckOfXAndEveryParameter(int[] grid, int l, bool causal, bool residual, ToeplitzAlgorithm algo)
    {
        using var s = DisposalScope.Begin();
        int c = 3;
        using var m = Module(grid.Length, c, causal, residual, algo, 40);
        var names = m.Parameters.Keys.ToArray();
        var inputs = new[] { Reference.Randn([2, l + N(grid), c], DType.Float64, 41) }.Concat(names.Select(n => m.Parameters[n].Data.Clone())).ToArray();
        var r = GradCheck.Check(v =>
        {
            for (int i = 0; i < names.Length; i++) m.Parameters[names[i]] = v[i + 1];
            return m.Forward(v[0], grid, l);
        }, inputs);
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void AutoPicksDirectForSmallAndFftForLargeGrids()
    {
        Assert.That(new ToeplitzPlan([4, 5]).Resolve(2, 6).Algorithm, Is.EqualTo(ToeplitzAlgorithm.Direct));
        Assert.That(new ToeplitzPlan([64, 64]).Resolve(1, 256).Algorithm, Is.EqualTo(ToeplitzAlgorithm.Fft));
        Assert.That(new ToeplitzPlan([8192]).Resolve(1, 256).Algorithm, Is.EqualTo(ToeplitzAlgorithm.Fft));
        Assert.That(new ToeplitzPlan([4, 5], algorithm: ToeplitzAlgorithm.Fft).Resolve(2, 6).Algorithm, Is.EqualTo(ToeplitzAlgorithm.Fft));
    }

    [Test]
    public void ShapeErrorsNameTheOpAndShapes()
    {
        using var s = DisposalScope.Begin();
        var plan = new ToeplitzPlan([3, 4]);
        var ex = Assert.Throws<ShapeException>(() => Tensor.Toeplitz(Tensor.Zeros([2, 12, 5]), Tensor.Zeros([5, 6, 5]), plan));
        Assert.That(ex!.Message, Does.Contain("toeplitz").And.Contain("[5, 6, 5]").And.Contain("[5, 7, 5]"));
        ex = Assert.Throws<ShapeException>(() => Tensor.Toeplitz(Tensor.Zeros([2, 13, 5]), Tensor.Zeros([5, 7, 5]), plan));
        Assert.That(ex!.Message, Does.Contain("'x'").And.Contain("[2, 13, 5]"));
        Assert.Throws<ShapeException>(() => new ToeplitzPlan([3, 4], causal: true));
    }
}
