using LightNet.Autograd;

namespace LightNet.Tests;

[Category("Encodings")]
public class LrpeTests
{
    /// <summary>Plain per-feature float64 reference of Θ for token index i (0-based, including extras).</summary>
    private static double RefAngle(int[] grid, int d, int nExtra, double b, int i, int j)
    {
        int k = grid.Length, m = (d + k - 1) / k;
        int s = i - nExtra;
        if (s < 0) return 0;
        var coord = new int[k];
        for (int a = k - 1; a >= 0; a--) { coord[a] = a == 0 ? s : s % grid[a]; s = a == 0 ? s : s / grid[a]; }
        return coord[j / m] * Math.Pow(b, -(double)(j % m) / m);
    }

    private static readonly int[][] Grids = [[9], [3, 5], [2, 3, 4]];

    [Test]
    public void AnglesMatchTheDefinition([Values(0, 1, 2)] int gi, [Values(6, 7, 8)] int d)
    {
        using var s = DisposalScope.Begin();
        var grid = Grids[gi];
        int t = 2 + grid.Aggregate(1, (a, b) => a * b);
        var ang = MdLrpe.Angles(grid, d, nExtra: 2).ToDoubleArray();
        Assert.That(ang, Has.Length.EqualTo(t * d));
        for (int i = 0; i < t; i++)
            for (int j = 0; j < d; j++)
                Assert.That(ang[i * d + j], Is.EqualTo(RefAngle(grid, d, 2, 10000, i, j)).Within(1e-13), $"token {i} feature {j}");
    }

    [Test]
    public void OneDimensionalGridIsThe1DDefinition()
    {
        using var s = DisposalScope.Begin();
        int d = 10, n = 13;
        var ang = MdLrpe.Angles([n], d, base_: 500).ToDoubleArray();
        for (int t = 0; t < n; t++)
            for (int j = 0; j < d; j++)
                Assert.That(ang[t * d + j], Is.EqualTo(t * Math.Pow(500, -(double)j / d)).Within(1e-13));
    }

    [Test]
    public void ApplyMatchesReferenceAndPreservesNorm([Values(0, 1, 2)] int gi, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var s = DisposalScope.Begin();
        var grid = Grids[gi];
        int d = 8, t = 1 + grid.Aggregate(1, (a, b) => a * b);
        var ang = MdLrpe.Angles(grid, d, nExtra: 1, dtype: dt);
        var x = Reference.NonContiguous(Reference.Randn([2, 3, t, d], dt, 5));
        var y = MdLrpe.Apply(x, ang);
        Assert.That(y.Shape, Is.EqualTo(new Shape(2, 3, t, 2 * d)));
        var xv = x.ToDoubleArray(); var av = MdLrpe.Angles(grid, d, nExtra: 1).ToDoubleArray();
        var r = new double[y.Numel];
        for (int row = 0; row < 6 * t; row++)
            for (int j = 0; j < d; j++)
            {
                double a = av[row % t * d + j], v = xv[row * d + j];
                r[row * 2 * d + j] = v * Math.Cos(a);
                r[row * 2 * d + d + j] = v * Math.Sin(a);
            }
        Reference.Close(y, r, dt == DType.Float64 ? 1e-14 : 1e-6, "lrpe");
        // ‖LRPE(x)‖ = ‖x‖ per token, since cos² + sin² = 1
        var yv = y.ToDoubleArray();
        for (int row = 0; row < 6 * t; row++)
        {
            double nx = 0, ny = 0;
            for (int j = 0; j < d; j++) nx += xv[row * d + j] * xv[row * d + j];
            for (int j = 0; j < 2 * d; j++) ny += yv[row * 2 * d + j] * yv[row * 2 * d + j];
            Assert.That(Math.Abs(ny - nx), Is.LessThanOrEqualTo((dt == DType.Float64 ? 1e-13 : 1e-6) * nx), $"norm of token row {row}");
        }
    }

    [Test]
    public void DotProductDependsOnlyOnTheOffset([Values(0, 1, 2)] int gi)
    {
        using var s = DisposalScope.Begin();
        var grid = Grids[gi];
        int d = 9, k = grid.Length, n = grid.Aggregate(1, (a, b) => a * b);
        var ang = MdLrpe.Angles(grid, d);
        var q = Reference.Randn([1, d], DType.Float64, 11);
        var kk = Reference.Randn([1, d], DType.Float64, 12);
        var qs = MdLrpe.Apply(q.Expand(n, d).Contiguous(), ang).ToDoubleArray();
        var ks = MdLrpe.Apply(kk.Expand(n, d).Contiguous(), ang).ToDoubleArray();
        double Dot(int p, int p2) { double acc = 0; for (int j = 0; j < 2 * d; j++) acc += qs[p * 2 * d + j] * ks[p2 * 2 * d + j]; return acc; }
        var byOffset = new Dictionary<string, double>();
        int checks = 0;
        for (int p = 0; p < n; p++)
            for (int p2 = 0; p2 < n; p2++)
            {
                var a = Reference.Unravel(p, grid); var b = Reference.Unravel(p2, grid);
                var key = string.Join(",", Enumerable.Range(0, k).Select(i => a[i] - b[i]));
                double v = Dot(p, p2);
                if (byOffset.TryGetValue(key, out var prev)) { Assert.That(v, Is.EqualTo(prev).Within(1e-12), $"offset {key}"); checks++; }
                else byOffset[key] = v;
            }
        Assert.That(checks, Is.GreaterThan(0));
        // and it is not trivially constant across offsets
        Assert.That(byOffset.Values.Max() - byOffset.Values.Min(), Is.GreaterThan(1e-3));
    }

    [Test]
    public void ExtraTokensAreUnchangedAndOffsetShifts()
    {
        using var s = DisposalScope.Begin();
        int[] grid = [3, 4];
        int d = 6, l = 2, t = l + 12;
        var ang = MdLrpe.Angles(grid, d, nExtra: l);
        var x = Reference.Randn([2, t, d], DType.Float64, 21);
        var y = MdLrpe.Apply(x, ang);
        var xe = x.Narrow(1, 0, l).ToDoubleArray();
        Assert.That(y.Narrow(1, 0, l).Narrow(2, 0, d).ToDoubleArray(), Is.EqualTo(xe));
        Assert.That(y.Narrow(1, 0, l).Narrow(2, d, d).ToDoubleArray(), Is.All.EqualTo(0.0));
        var full = ang.ToDoubleArray();
        for (int o = 0; o < t; o++)
        {
            var one = MdLrpe.Angles(grid, d, nExtra: l, offset: o, tokens: 1).ToDoubleArray();
            Assert.That(one, Is.EqualTo(full.AsSpan(o * d, d).ToArray()).Within(1e-15), $"offset {o}");
        }
        // Offsets past the grid continue along the first axis (decoding beyond the grid).
        var past = MdLrpe.Angles([5], 4, offset: 7, tokens: 2).ToDoubleArray();
        var longer = MdLrpe.Angles([9], 4).ToDoubleArray();
        Assert.That(past, Is.EqualTo(longer.AsSpan(28, 8).ToArray()).Within(1e-15));
    }

    [Test]
    public void GradCheckAllDims([Values(0, 1, 2)] int gi)
    {
        using var s = DisposalScope.Begin();
        var grid = Grids[gi];
        int d = 5, t = 1 + grid.Aggregate(1, (a, b) => a * b);
        var ang = MdLrpe.Angles(grid, d, nExtra: 1, base_: 10);
        var r = GradCheck.Check(v => v[0].Lrpe(ang), [Reference.Randn([2, t, d], DType.Float64, 31)]);
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void ShapeErrorsNameTheOpAndShapes()
    {
        using var s = DisposalScope.Begin();
        var ang = MdLrpe.Angles([4], 6);
        var ex = Assert.Throws<ShapeException>(() => MdLrpe.Apply(Tensor.Zeros([2, 5, 6]), ang));
        Assert.That(ex!.Message, Does.Contain("md_lrpe").And.Contain("[4, 6]").And.Contain("[2, 5, 6]"));
        Assert.Throws<ShapeException>(() => MdLrpe.Angles([0, 3], 6));
        Assert.Throws<ShapeException>(() => MdLrpe.Angles([3], 6, offset: -1));
    }

    [Test]
    public void GoldenLrpe2d([Values(DType.Float64, DType.Float32)] DType dt)
    {
        using var s = DisposalScope.Begin();
        var f = new GoldenSafetensorsTestReader(GoldenSafetensorsTestReader.GoldenPath("lrpe_2d_small.safetensors"));
        Assert.That(f.Metadata["kind"], Is.EqualTo("lrpe"));
        var cfg = f.Config();
        var grid = cfg.GetProperty("grid").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int d = cfg.GetProperty("head_dim").GetInt32(), l = cfg.GetProperty("n_extra").GetInt32(), off = cfg.GetProperty("offset").GetInt32();
        double b = cfg.GetProperty("base").GetDouble();
        double tol = dt == DType.Float64 ? 1e-10 : 1e-4;
        var ang = MdLrpe.Angles(grid, d, l, b, off, dtype: dt);
        Reference.Close(ang, f.Doubles("angles"), tol, "angles");
        var x = new Variable(f.Tensor("x", dt), requiresGrad: true);
        var y = x.Lrpe(ang);
        Reference.Close(y.Data, f.Doubles("out"), tol, "out");
        y.Backward(f.Tensor("dout", dt));
        Reference.Close(x.Grad!, f.Doubles("grad/x"), tol, "grad/x");
    }
}
