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
}
