using LightNet.Autograd;

namespace LightNet.Tests;

public class AutogradTests
{
    private static void Check(Func<Variable[], Variable> f, params int[][] shapes) => CheckOn(f, shapes.Select((s, i) => Reference.Randn(s, DType.Float64, (ulong)(100 + i))).ToArray());

    private static void CheckOn(Func<Variable[], Variable> f, Tensor[] inputs)
    {
        using var scope = DisposalScope.Begin();
        var r = GradCheck.Check(f, inputs);
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void UnaryOps([Values] UnaryOp op)
    {
        bool positive = op is UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Rsqrt or UnaryOp.Reciprocal;
        using var s = DisposalScope.Begin();
        var x = Reference.Randn([3, 5], DType.Float64, 7);
        if (positive) x = x.Abs() + 0.5;
        if (op is UnaryOp.Relu or UnaryOp.Abs) x = x + 0.01; // keep away from the kink at 0
        CheckOn(v => op switch
        {
            UnaryOp.Neg => v[0].Neg(),
            UnaryOp.Exp => v[0].Exp(),
            UnaryOp.Log => v[0].Log(),
            UnaryOp.Sqrt => v[0].Sqrt(),
            UnaryOp.Rsqrt => v[0].Rsqrt(),
            UnaryOp.Tanh => v[0].Tanh(),
            UnaryOp.Sigmoid => v[0].Sigmoid(),
            UnaryOp.Silu => v[0].Silu(),
            UnaryOp.Gelu => v[0].Gelu(),
            UnaryOp.Relu => v[0].Relu(),
            UnaryOp.Abs => v[0].Abs(),
            UnaryOp.Square => v[0].Square(),
            UnaryOp.Reciprocal => v[0].Reciprocal(),
            UnaryOp.Sin => v[0].Sin(),
            _ => v[0].Cos(),
        }, [x]);
    }

    [Test]
    public void BinaryOpsWithBroadcasting()
    {
        Check(v => v[0] + v[1], [3, 1, 5], [4, 1]);
        Check(v => v[0] - v[1], [5], [2, 5]);
        Check(v => v[0] * v[1], [3, 4], [3, 1]);
        Check(v => v[0] / (v[1].Square() + 1.0), [2, 3], [3]);
        Check(v => Variable.Maximum(v[0], v[1]), [4, 3], [3]);
        Check(v => Variable.Minimum(v[0], v[1]), [4, 3], [4, 1]);
        Check(v => (v[0].Abs() + 0.5).Pow(v[1]), [3, 2], [2]);
        Check(v => 2.0 - v[0] * 3.0 + 1.0 / (v[0].Square() + 1.0), [7]);
    }

    [Test]
    public void ViewOps()
    {
        Check(v => v[0].Reshape(5, 3).Transpose(0, 1) * v[1], [3, 5], [3, 5]);
        Check(v => v[0].Permute(2, 0, 1).Contiguous().Exp(), [2, 3, 4]);
        Check(v => v[0].Narrow(1, 1, 3).Square(), [2, 5]);
        Check(v => v[0].Slice(0, 1, 7, 2).Square(), [7, 2]);
        Check(v => v[0].Select(1, 2).Square(), [3, 4]);
        Check(v => v[0].Expand(4, 3, 5).Sin(), [3, 1]);
        Check(v => v[0].Unsqueeze(1).Squeeze(1).Flatten().Flip(0).Sin(), [3, 2]);
        Check(v => Variable.Concat([v[0], v[1].Square()], 1), [2, 3], [2, 4]);
        Check(v => Variable.Stack([v[0], v[1]], 0).Sin(), [3], [3]);
        Check(v => v[0].Split([1, 3], 1)[1].Exp(), [2, 4]);
    }

    [Test]
    public void Reductions()
    {
        Check(v => v[0].Sum([0, 2]), [3, 4, 5]);
        Check(v => v[0].Sum(), [3, 4]);
        Check(v => v[0].Mean(1, keepDims: true), [3, 4]);
        Check(v => v[0].Max(1), [3, 5]);
        Check(v => v[0].Min([0]), [3, 5]);
        Check(v => v[0].LogSumExp(-1), [3, 5]);
        Check(v => v[0].Var([1]), [3, 5]);
    }

    [Test]
    public void MatmulVariants()
    {
        Check(v => Variable.Matmul(v[0], v[1]), [3, 4], [4, 5]);
        Check(v => Variable.Matmul(v[0], v[1]), [2, 3, 4], [4, 5]);
        Check(v => Variable.Matmul(v[0], v[1].Transpose()), [2, 1, 3, 4], [3, 5, 4]);
        Check(v => Variable.Matmul(v[0], v[1]), [4], [4, 3]);
        Check(v => Variable.Matmul(v[0], v[1]), [3, 4], [4]);
    }

    [Test]
    public void NnOps()
    {
        Check(v => v[0].Softmax(0), [4, 3]);
        Check(v => v[0].LogSoftmax(-1), [3, 5]);
        Check(v => v[0].Cumsum(1), [3, 5]);
        Check(v => v[0].LogCumSumExp(0), [7, 3]);
        Check(v => Variable.SwiGlu(v[0], v[1]), [3, 7], [3, 7]);
        Check(v => Variable.RmsNormGate(v[0], v[1], v[2], 1e-6), [3, 7], [7], [3, 7]);
        Check(v => Variable.RmsNormGate(v[0], v[1], v[2], 1e-6), [2, 3, 5], [5], [2, 3, 5]);
        Check(v => Variable.RmsNorm(v[0], v[1], 1e-6), [3, 7], [7]);
        Check(v => Variable.RmsNorm(v[0], null, 1e-6), [2, 3, 5]);
        Check(v => Variable.LayerNorm(v[0], v[1], v[2], 1e-5), [4, 6], [6], [6]);
        using var s = DisposalScope.Begin();
        var ids = Tensor.FromArray(new long[] { 2, 0, 2, 1 }, [2, 2]);
        Check(v => Variable.Embedding(v[0], ids), [3, 4]);
        Check(v => v[0].IndexSelect(1, ids), [2, 3, 2]);
        var gi = Tensor.FromArray(new long[] { 0, 2, 1, 1, 2, 0 }, [3, 2]);
        Check(v => v[0].Gather(1, gi), [3, 4]);
        Check(v => v[0].ScatterAdd(1, gi, v[1]), [3, 4], [3, 2]);
        var t = Tensor.FromArray(new long[] { 1, -100, 3, 0 });
        Check(v => Variable.CrossEntropy(v[0], t), [4, 5]);
        var c = Tensor.FromArray(new double[] { 1, 0, 1 });
        Check(v => Variable.Where(c, v[0], v[1]), [2, 3], [3]);
    }

    [Test]
    public void GradientsAccumulateAndSharedInputsAddUp()
    {
        using var s = DisposalScope.Begin();
        var x = new Variable(Tensor.FromArray(new double[] { 1, 2, 3 }), requiresGrad: true);
        (x * x + x).Sum().Backward();
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 3, 5, 7 }));
        (x + x).Sum().Backward();
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 5, 7, 9 }));
        x.ZeroGrad();
        using (NoGrad.Scope())
        {
            var y = x * 2.0;
            Assert.That(y.RequiresGrad, Is.False);
        }
        Assert.Throws<InvalidOperationException>(() => new Variable(Tensor.Ones([1])).Backward());
        Assert.Throws<ShapeException>(() => (x * 2.0).Backward());
    }

    [Test]
    public void ForwardBackwardInsideScopeLeavesNoLiveTensors()
    {
        var w = new Variable(Reference.Randn([16, 8], DType.Float32, 1), requiresGrad: true);
        long before = MemoryStats.LiveTensors;
        using (DisposalScope.Begin())
        {
            var x = new Variable(Reference.Randn([4, 16], DType.Float32, 2));
            var h = Variable.RmsNorm(Variable.Matmul(x, w).Silu(), null, 1e-6);
            var loss = Variable.CrossEntropy(h, Tensor.FromArray(new long[] { 1, 2, 3, 4 }));
            loss.Backward();
        }
        Assert.That(MemoryStats.LiveTensors, Is.EqualTo(before + 1), "only the leaf's gradient survives the scope");
        w.Dispose();
        Assert.That(MemoryStats.LiveTensors, Is.EqualTo(before - 1));
    }
}
