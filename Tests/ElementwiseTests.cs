namespace LightNet.Tests;

[Category("Kernels")]
public class ElementwiseTests
{
    private static readonly Dictionary<UnaryOp, Func<double, double>> UnaryRef = new()
    {
        [UnaryOp.Neg] = x => -x,
        [UnaryOp.Exp] = Math.Exp,
        [UnaryOp.Log] = Math.Log,
        [UnaryOp.Sqrt] = Math.Sqrt,
        [UnaryOp.Rsqrt] = x => 1 / Math.Sqrt(x),
        [UnaryOp.Tanh] = Math.Tanh,
        [UnaryOp.Sigmoid] = x => 1 / (1 + Math.Exp(-x)),
        [UnaryOp.Silu] = x => x / (1 + Math.Exp(-x)),
        [UnaryOp.Gelu] = x => 0.5 * x * (1 + MathNet.Numerics.SpecialFunctions.Erf(x / Math.Sqrt(2))),
        [UnaryOp.Relu] = x => Math.Max(x, 0),
        [UnaryOp.Abs] = Math.Abs,
        [UnaryOp.Square] = x => x * x,
        [UnaryOp.Reciprocal] = x => 1 / x,
        [UnaryOp.Sin] = Math.Sin,
        [UnaryOp.Cos] = Math.Cos,
    };

    /// <summary>Ops whose domain is restricted get |x| + 0.1 as input.</summary>
    private static bool Positive(UnaryOp op) => op is UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Rsqrt or UnaryOp.Reciprocal;

    [Test]
    public void UnaryMatchesReference([Values] UnaryOp op, [Values(DType.Float32, DType.Float64)] DType dt, [Values] bool contiguous)
    {
        using var s = DisposalScope.Begin();
        var x64 = Reference.Randn([37, 19], seed: 3);
        if (Positive(op)) x64 = x64.Abs() + 0.1;
        var x = x64.To(dt);
        if (!contiguous) x = Reference.NonContiguous(x);
        var y = x.Apply(op);
        var xs = x.ToDoubleArray();
        var f = UnaryRef[op];
        var refv = xs.Select(f).ToArray();
        Reference.Close(y, refv, dt == DType.Float64 ? 1e-13 : 3e-6, op.ToString());
    }

    private static double BinRef(BinaryOp op, double a, double b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        BinaryOp.Pow => Math.Pow(Math.Abs(a) + 0.5, b),
        BinaryOp.Max => Math.Max(a, b),
        BinaryOp.Min => Math.Min(a, b),
        BinaryOp.Eq => a == b ? 1 : 0,
        BinaryOp.Ne => a != b ? 1 : 0,
        BinaryOp.Lt => a < b ? 1 : 0,
        BinaryOp.Le => a <= b ? 1 : 0,
        BinaryOp.Gt => a > b ? 1 : 0,
        _ => a >= b ? 1 : 0,
    };

    private static readonly int[][][] BroadcastCases =
    [
        [[5, 7, 3], [5, 7, 3]],
        [[5, 1, 3], [7, 1]],
        [[1], [4, 17]],
        [[17, 33], [33]],
        [[3, 1, 5], [1, 4, 1]],
        [[], [2, 3]],
    ];

    [Test]
    public void BinaryBroadcastsLikeNumPy([Values] BinaryOp op, [Values(DType.Float32, DType.Float64)] DType dt, [Range(0, 5)] int c)
    {
        using var s = DisposalScope.Begin();
        var (sa, sb) = (BroadcastCases[c][0], BroadcastCases[c][1]);
        var a64 = Reference.Randn(sa, seed: 5);
        var b64 = Reference.Randn(sb, seed: 6);
        if (op == BinaryOp.Pow) a64 = a64.Abs() + 0.5;
        if (op is BinaryOp.Eq or BinaryOp.Ne or BinaryOp.Le or BinaryOp.Ge) { a64 = (a64 * 2).Apply(UnaryOp.Abs).Binary(BinaryOp.Min, 1.0); b64 = b64.Abs().Binary(BinaryOp.Min, 1.0); }
        var a = a64.To(dt);
        var b = b64.To(dt);
        if (a.Rank >= 2) a = Reference.NonContiguous(a);
        var y = Tensor.Binary(op, a, b);
        var outShape = Shape.Broadcast("test", sa, sb);
        Assert.That(y.Shape, Is.EqualTo(new Shape(outShape)));
        var av = a.ToDoubleArray(); var bv = b.ToDoubleArray();
        var r = new double[y.Numel];
        for (long i = 0; i < r.Length; i++)
        {
            var idx = Reference.Unravel(i, outShape);
            double A = av[Reference.Ravel(Project(idx, sa), sa)], B = bv[Reference.Ravel(Project(idx, sb), sb)];
            r[i] = op == BinaryOp.Pow ? Math.Pow(A, B) : BinRef(op, A, B);
        }
        Reference.Close(y, r, dt == DType.Float64 ? 1e-13 : 3e-6, op.ToString());
    }

    internal static int[] Project(int[] idx, int[] shape)
    {
        var p = new int[shape.Length];
        int lead = idx.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++) p[i] = shape[i] == 1 ? 0 : idx[i + lead];
        return p;
    }

    [Test]
    public void WhereSelectsAndBroadcasts()
    {
        using var s = DisposalScope.Begin();
        var c = Tensor.FromArray(new double[] { 1, 0, 1 }, [3, 1]);
        var a = Tensor.Full([3, 4], 2, DType.Float64);
        var b = Tensor.FromArray(new double[] { -1, -2, -3, -4 }, [4]);
        var y = Tensor.Where(c, a, b).ToDoubleArray();
        Assert.That(y, Is.EqualTo(new double[] { 2, 2, 2, 2, -1, -2, -3, -4, 2, 2, 2, 2 }));
    }

    [Test]
    public void InPlaceOpsAndLargeTensorsAcrossChunks()
    {
        using var s = DisposalScope.Begin();
        var a = Reference.Randn([100003], DType.Float32, 9);
        var b = Reference.Randn([100003], DType.Float32, 10);
        var expect = a.ToDoubleArray().Zip(b.ToDoubleArray(), (x, y) => (x + y) * 3).ToArray();
        a.Add_(b).Mul_(3);
        Reference.Close(a, expect, 1e-6);
    }

    /// <summary>
    /// The float32 exp family (exp, sigmoid, SiLU, SiLU backward) against float64 over the whole range, including the
    /// lanes that fall back to the scalar definition (overflow, subnormal results, ±∞, NaN), odd lengths and in place.
    /// </summary>
    [Test]
    public void FastExpFamilyMatchesFloat64([Values(1, 7, 8, 9, 15, 16, 17, 33, 61, 1003)] int n)
    {
        var rng = new Random(n);
        var special = new[] { -200f, -103.9f, -87.4f, -86.6f, -86.4f, 0f, -0f, 1e-30f, 87.9f, 88.1f, 88.8f, 89f, float.PositiveInfinity, float.NegativeInfinity, float.NaN };
        var x = Enumerable.Range(0, n).Select(i => i % 5 == 3 ? special[rng.Next(special.Length)] : (float)(rng.NextDouble() * 180 - 90)).ToArray();
        var g = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        static double Sig(double v) => 1 / (1 + Math.Exp(-v));
        Check("exp", y => LightNet.Cpu.FastExp.Exp(x, y), v => Math.Exp(v));
        Check("sigmoid", y => LightNet.Cpu.FastExp.Sigmoid(x, y), Sig);
        Check("silu", y => LightNet.Cpu.FastExp.Silu(x, y), v => v * Sig(v));
        var dx = new float[n];
        LightNet.Cpu.FastExp.SiluBackward(x, g, dx);
        for (int i = 0; i < n; i++)
        {
            double v = x[i], s = Sig(v), want = double.IsInfinity(v) ? (v > 0 ? g[i] : 0) : g[i] * s * (1 + v * (1 - s));
            // 1 + x(1 − σ) cancels near x ≈ −2.4: the float error is relative to the size of the terms, not of the sum.
            double scale = double.IsInfinity(v) ? 0 : Math.Abs(g[i] * s) * (1 + Math.Abs(v * (1 - s)));
            if (double.IsNaN(want) || Math.Abs(dx[i] - want) > 3e-7 * scale) AssertClose(dx[i], want, $"silu backward at x={x[i]}", x[i]);
        }
        InPlace("exp", (a, b) => LightNet.Cpu.FastExp.Exp(a, b));
        InPlace("sigmoid", (a, b) => LightNet.Cpu.FastExp.Sigmoid(a, b));
        InPlace("silu", (a, b) => LightNet.Cpu.FastExp.Silu(a, b));
        InPlace("silu backward", (a, b) => LightNet.Cpu.FastExp.SiluBackward(a, g, b));
        var gInPlace = (float[])g.Clone();
        LightNet.Cpu.FastExp.SiluBackward(x, gInPlace, gInPlace);
        Assert.That(gInPlace, Is.EqualTo(dx), "silu backward into g");

        void InPlace(string what, Action<float[], float[]> f)
        {
            var inPlace = (float[])x.Clone();
            f(inPlace, inPlace);
            var copy = new float[n];
            f(x, copy);
            Assert.That(inPlace, Is.EqualTo(copy), what + " in place");
        }

        void Check(string what, Action<float[]> f, Func<double, double> r)
        {
            var y = new float[n];
            f(y);
            for (int i = 0; i < n; i++) AssertClose(y[i], r(x[i]), $"{what} at x={x[i]}", x[i]);
        }

        // e^x is subnormal below −87.3: its absolute error (half the subnormal step) is carried by up to |x|.
        static void AssertClose(float got, double want, string what, float at)
        {
            if (double.IsNaN(want)) { Assert.That(float.IsNaN(got), what + ": NaN expected"); return; }
            if (float.IsInfinity((float)want)) { Assert.That(got, Is.EqualTo((float)want), what); return; }
            // Subnormal results: within the smallest normal float (the scalar fallback's own rounding).
            if (Math.Abs(want) < 1.2e-38) { Assert.That(Math.Abs(got - want), Is.LessThan(1.2e-38), what); return; }
            Assert.That(Math.Abs(got - want), Is.LessThanOrEqualTo(3e-7 * Math.Abs(want) + 2e-45 * (1 + Math.Abs(at))), what);
        }
    }

    /// <summary>
    /// A dense sweep of the vector formula's whole range (2^20 evenly spaced inputs in [−87.3, 88.7], normal results): exp
    /// within 3e-7 relative of float64, sigmoid and SiLU too (every table entry and both ends of the reduced interval).
    /// </summary>
    [Test]
    public void FastExpDenseSweepStaysWithinTheBound()
    {
        const int n = 1 << 20;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(-87.3 + 176.0 * i / (n - 1));
        var e = new float[n]; var s = new float[n]; var q = new float[n];
        LightNet.Cpu.FastExp.Exp(x, e);
        LightNet.Cpu.FastExp.Sigmoid(x, s);
        LightNet.Cpu.FastExp.Silu(x, q);
        double worstE = 0, worstS = 0, worstQ = 0;
        for (int i = 0; i < n; i++)
        {
            double v = x[i], want = Math.Exp(v), sg = 1 / (1 + Math.Exp(-v));
            worstE = Math.Max(worstE, Math.Abs(e[i] - want) / want);
            worstS = Math.Max(worstS, Math.Abs(s[i] - sg) / sg);
            if (v != 0) worstQ = Math.Max(worstQ, Math.Abs(q[i] - v * sg) / Math.Abs(v * sg));
        }
        Assert.Multiple(() =>
        {
            Assert.That(worstE, Is.LessThanOrEqualTo(3e-7), "exp");
            Assert.That(worstS, Is.LessThanOrEqualTo(3e-7), "sigmoid");
            Assert.That(worstQ, Is.LessThanOrEqualTo(3e-7), "silu");
        });
    }

    /// <summary>Tensors of ≥ 32 MiB take the non-temporal store path of exp, SiLU and SiLU backward: same values as the cached path.</summary>
    [Test]
    public void LargeTensorsTakeTheStreamingPathWithTheSameValues()
    {
        using var s = DisposalScope.Begin();
        int n = (9 << 20) + 3;
        var x = Tensor.RandN([n], new Generator(81)) * 4.0;
        var g = Tensor.RandN([n], new Generator(82));
        var xs = x.ToArray<float>(); var gs = g.ToArray<float>();
        foreach (var op in new[] { UnaryOp.Exp, UnaryOp.Silu, UnaryOp.Sigmoid })
        {
            var y = x.Apply(op).ToArray<float>();
            var dx = op == UnaryOp.Silu ? x.ApplyBackward(op, x.Apply(op), g).ToArray<float>() : null;
            for (int i = 0; i < n; i += 997)
            {
                var one = Enumerable.Repeat(xs[i], 8).ToArray(); // one full vector: the same code path, cached stores
                var r = new float[8];
                if (op == UnaryOp.Exp) LightNet.Cpu.FastExp.Exp(one, r);
                else if (op == UnaryOp.Silu) LightNet.Cpu.FastExp.Silu(one, r);
                else LightNet.Cpu.FastExp.Sigmoid(one, r);
                Assert.That(y[i], Is.EqualTo(r[0]), $"{op} at {i}");
                if (dx == null) continue;
                LightNet.Cpu.FastExp.SiluBackward(one, Enumerable.Repeat(gs[i], 8).ToArray(), r);
                Assert.That(dx[i], Is.EqualTo(r[0]), $"silu backward at {i}");
            }
        }
    }

    /// <summary>
    /// Each float32 softmax row equals that row's softmax alone, bit for bit, with special rows among ordinary ones: all −∞,
    /// a NaN, a +∞, zeros of both signs.
    /// </summary>
    [Test]
    public void SoftmaxRowsDoNotDependOnTheirNeighbours([Values(5, 33, 130, 4096)] int n)
    {
        using var s = DisposalScope.Begin();
        int rows = n == 4096 ? 40 : 9;
        var rng = new Random(n);
        var data = new float[rows * n];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 40 - 20);
        for (int c = 0; c < n; c++)
        {
            data[2 * n + c] = float.NegativeInfinity;
            data[7 * n + c] = c % 2 == 0 ? 0f : -0f;
        }
        data[4 * n + n / 2] = float.NaN;
        data[6 * n + n - 1] = float.PositiveInfinity;
        if (rows > 16)
        {
            for (int c = 0; c < n; c++) data[16 * n + c] = float.NegativeInfinity; // first row of a chunk
            data[15 * n + 3] = float.NaN;                                             // last row of a chunk
            data[32 * n + 5] = float.PositiveInfinity;
        }
        var all = Tensor.FromArray(data, [rows, n]).Softmax(-1).ToArray<float>();
        for (int r = 0; r < rows; r++)
        {
            var alone = Tensor.FromArray(data.Skip(r * n).Take(n).ToArray(), [1, n]).Softmax(-1).ToArray<float>();
            Assert.That(all.Skip(r * n).Take(n).ToArray(), Is.EqualTo(alone), $"row {r}");
        }
        Assert.That(all.Skip(2 * n).Take(n), Is.All.NaN, "a row of −∞ has no softmax");
    }

    /// <summary>
    /// Masked softmax rows (−1e30 above the diagonal) and peaked rows stay on the vector path (lanes below −104 give
    /// exactly 0) and match float64; an element's value does not depend on its neighbours or its position in the row.
    /// </summary>
    [Test]
    public void SoftmaxOfMaskedAndPeakedRowsMatchesFloat64([Values(7, 64, 131)] int n)
    {
        using var s = DisposalScope.Begin();
        var rng = new Random(n);
        var rows = new float[n * n];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
                rows[r * n + c] = c > r ? -1e30f : (float)(rng.NextDouble() * 300 - 150);
        var y = Tensor.FromArray(rows, [n, n]).Softmax(-1).ToArray<float>();
        for (int r = 0; r < n; r++)
        {
            var row = rows.Skip(r * n).Take(n).Select(v => (double)v).ToArray();
            double m = row.Max(), z = row.Sum(v => Math.Exp(v - m));
            for (int c = 0; c < n; c++)
            {
                // float32 rounds x − max before the exp: a relative error of |x − max|·2⁻²⁴ on top of the exp's own.
                double want = Math.Exp(row[c] - m) / z;
                Assert.That(y[r * n + c], Is.EqualTo(want).Within((1e-6 + Math.Abs(row[c] - m) * 6e-8) * want + 1e-37), $"row {r} col {c}");
            }
        }
        var x = Enumerable.Range(0, n).Select(i => (float)(rng.NextDouble() * 200 - 120)).ToArray();
        var all = new float[n];
        LightNet.Cpu.FastExp.Silu(x, all);
        for (int i = 0; i < n; i++)
        {
            var one = new float[1];
            LightNet.Cpu.FastExp.Silu(new[] { x[i] }, one);
            Assert.That(one[0], Is.EqualTo(all[i]), $"silu({x[i]}) alone vs in a span at {i}");
        }
    }

    /// <summary>
    /// Float32 softmax rows against float64 where the shift taken from a row's first 64 elements holds (a later element up to
    /// 8 above their maximum) and where it does not (9 and 100 above, a +∞ or a NaN after them: the row's maximum is taken
    /// instead), with −∞ first elements, elements far below the maximum (exact 0, the subnormal band), rows shorter than 64.
    /// The outliers sit right after the first 64 elements (at the end of shorter rows). The same rows computed in place (y = x)
    /// take the classic form throughout and must give the same values within the bound.
    /// </summary>
    [Test]
    public void SoftmaxShiftedByTheFirstElementsMatchesFloat64([Values(1, 45, 65, 200, 1027)] int n)
    {
        using var s = DisposalScope.Begin();
        const int rows = 8, head = 64;
        var rng = new Random(n + 17);
        var data = new float[rows * n];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 6 - 3);
        float HeadMax(int r) => data.Skip(r * n).Take(Math.Min(n, head)).Max();
        int after = Math.Min(n - 1, head);
        data[1 * n + after] = HeadMax(1) + 7.9f;
        data[2 * n + after] = HeadMax(2) + 9f;
        data[3 * n + after] = HeadMax(3) + 100f;
        for (int c = 0; c < Math.Min(n, head) && c < n - 1; c++) data[4 * n + c] = float.NegativeInfinity;
        for (int c = 0; c < n; c += 3) data[5 * n + c] = c % 2 == 0 ? -95f : -250f; // e^(x − max) subnormal or 0
        data[6 * n + n - 1] = float.PositiveInfinity;
        data[7 * n + n - 1] = float.NaN;
        var all = Tensor.FromArray(data, [rows, n]).Softmax(-1).ToArray<float>();
        var inPlace = Tensor.FromArray(data, [rows, n]);
        inPlace.Backend.Softmax(inPlace, inPlace, log: false);
        Check(all, "");
        Check(inPlace.ToArray<float>(), " in place");

        void Check(float[] y, string how)
        {
            for (int r = 0; r < rows; r++)
            {
                var row = data.Skip(r * n).Take(n).Select(v => (double)v).ToArray();
                if (r >= 6)
                {
                    Assert.That(y.Skip(r * n).Take(n), Is.All.NaN, $"row {r} holds {(r == 6 ? "+∞" : "a NaN")}{how}");
                    continue;
                }
                double m = row.Max(), z = row.Sum(v => Math.Exp(v - m));
                for (int c = 0; c < n; c++)
                {
                    if (double.IsNegativeInfinity(row[c])) { Assert.That(y[r * n + c], Is.EqualTo(0f), $"row {r} col {c}{how}: e^−∞"); continue; }
                    // x − shift rounded to float32: |x − max|·2⁻²⁴ with the maximum as shift, at most ShiftHi·2⁻²⁴ more with the head's
                    double want = Math.Exp(row[c] - m) / z;
                    double tol = (1e-6 + (Math.Abs(row[c] - m) + LightNet.Cpu.FastExp.ShiftHi) * 6e-8) * want + 1e-37;
                    Assert.That(y[r * n + c], Is.EqualTo(want).Within(tol), $"row {r} col {c}{how}");
                }
            }
        }
    }

    /// <summary>
    /// The shifted exp-and-sum under softmax accepts exponents up to ShiftHi (values and sum against float64, odd length:
    /// vector body and padded rest) and refuses one above it or a NaN, in the body or in the rest.
    /// </summary>
    [Test]
    public void ShiftedExpSumRefusesExponentsAboveItsBound()
    {
        const int n = 45;
        var x = Enumerable.Range(0, n).Select(i => -3f + 7.9f * i / (n - 1)).ToArray(); // x − m from 0 to 7.9 with m = −3
        var y = new float[n];
        Assert.That(LightNet.Cpu.FastExp.TryExpShiftedSum(x, -3f, y, out float sum), Is.True);
        double want = 0;
        for (int i = 0; i < n; i++)
        {
            double e = Math.Exp(x[i] + 3.0);
            want += e;
            Assert.That(y[i], Is.EqualTo(e).Within(1e-6 * e), $"element {i}");
        }
        Assert.That(sum, Is.EqualTo(want).Within(1e-6 * want));
        foreach (int at in new[] { 3, n - 1 })
            foreach (float bad in new[] { 5.1f, float.NaN, float.PositiveInfinity })
            {
                var xb = (float[])x.Clone();
                xb[at] = bad;
                Assert.That(LightNet.Cpu.FastExp.TryExpShiftedSum(xb, -3f, y, out _), Is.False, $"{bad} at {at}");
            }
    }
}
