using LightNet.Autograd;

namespace LightNet.Tests;

/// <summary>
/// <see cref="Variable.Linear"/> and the sweep's pending gradients: projections of one input add their input gradients
/// inside the matrix products (no separate adds), and leaves adopt exclusive gradients without a copy.
/// </summary>
[Category("Autograd")]
public class LinearGradTests
{
    [Test]
    public void GradCheckSeveralProjectionsOfOneInput()
    {
        var x = Reference.Randn([2, 5, 7], DType.Float64, 501);
        var w1 = Reference.Randn([4, 7], DType.Float64, 502);
        var w2 = Reference.Randn([3, 7], DType.Float64, 503);
        var w3 = Reference.Randn([4, 7], DType.Float64, 504);
        var r = GradCheck.Check(v =>
        {
            var a = Variable.Linear(v[0], v[1]);
            var b = Variable.Linear(v[0], v[2]);
            var c = Variable.Linear(v[0].Transpose(0, 1), v[3]); // a non-contiguous input too
            return (a * a).Sum() + b.Tanh().Sum() + (c * c.Sigmoid()).Sum();
        }, [x, w1, w2, w3]);
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void LinearEqualsMatmulWithTransposedWeight()
    {
        using var s = DisposalScope.Begin();
        var xs = Reference.Randn([3, 4, 9], DType.Float64, 511);
        var ws = Reference.Randn([5, 9], DType.Float64, 512);
        var gy = Reference.Randn([3, 4, 5], DType.Float64, 513);
        var (x1, w1) = (new Variable(xs, requiresGrad: true), new Variable(ws, requiresGrad: true));
        var (x2, w2) = (new Variable(xs, requiresGrad: true), new Variable(ws, requiresGrad: true));
        var y1 = Variable.Linear(x1, w1);
        var y2 = Variable.Matmul(x2.Reshape(-1, 9), w2.Transpose()).Reshape(3, 4, 5);
        Reference.Close(y1.Data, y2.Data, 1e-14, "y");
        y1.Backward(gy); y2.Backward(gy);
        Reference.Close(x1.Grad!, x2.Grad!, 1e-14, "dx");
        Reference.Close(w1.Grad!, w2.Grad!, 1e-14, "dw");
    }

    [Test]
    public void ProjectionsOfOneInputNeedNoSeparateAdds()
    {
        using var s = DisposalScope.Begin();
        var x = new Variable(Reference.Randn([6, 8], DType.Float64, 521), requiresGrad: true);
        var h = x * 2.0; // a node, so the gradients gather in the sweep rather than in a leaf
        var ws = Enumerable.Range(0, 4).Select(i => new Variable(Reference.Randn([3, 8], DType.Float64, 530 + (ulong)i), requiresGrad: true)).ToArray();
        var ks = Enumerable.Range(0, 4).Select(i => Reference.Randn([6, 3], DType.Float64, 540 + (ulong)i)).ToArray();
        var loss = ws.Select((w, i) => (Variable.Linear(h, w) * new Variable(ks[i])).Sum()).Aggregate((a, b) => a + b);
        Profiler.Enable(Device.Cpu);
        Profiler.Reset();
        loss.Backward();
        Profiler.Disable(Device.Cpu);
        long adds = Profiler.Snapshot().Where(k => k.Kernel.StartsWith("Binary.Add", StringComparison.Ordinal)).Sum(k => k.Calls);
        Assert.That(adds, Is.EqualTo(0), "the four input gradients of h are summed inside the products");
        // dx = 2 Σ_i K_i W_i
        var want = ws.Select((w, i) => Tensor.Matmul(ks[i] * 2.0, w.Data)).Aggregate((a, b) => a + b);
        Reference.Close(x.Grad!, want, 1e-12, "dx");
    }

    [Test]
    public void LeavesSharingOneGradientGetTheirOwnCopies()
    {
        using var s = DisposalScope.Begin();
        var a = new Variable(Reference.Randn([4], DType.Float64, 541), requiresGrad: true);
        var b = new Variable(Reference.Randn([4], DType.Float64, 542), requiresGrad: true);
        (a + b).Sum().Backward(); // the add hands one gradient to both leaves
        a.Grad!.Add_(Tensor.Ones([4], DType.Float64));
        Assert.That(b.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 1, 1, 1, 1 }));
        Assert.That(a.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 2, 2, 2, 2 }));
    }

    [Test]
    public void LinearNamesBadShapes()
    {
        using var s = DisposalScope.Begin();
        var x = new Variable(Reference.Randn([2, 5]));
        var w = new Variable(Reference.Randn([3, 4]));
        var ex = Assert.Throws<ShapeException>(() => Variable.Linear(x, w))!;
        Assert.That(ex.Message, Does.Contain("linear").And.Contain("[2, 5]").And.Contain("[3, 4]"));
    }
}
