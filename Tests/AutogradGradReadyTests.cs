using LightNet.Autograd;

namespace LightNet.Tests;

/// <summary>Backward with watched leaves: each is reported once, as soon as its gradient is final for the pass.</summary>
public class AutogradGradReadyTests
{
    private sealed class Net
    {
        public Variable X { get; } = new(Reference.Randn([4, 3], seed: 1));
        public Variable W1 { get; } = new(Reference.Randn([3, 5], seed: 2), true, "w1");
        public Variable W2 { get; } = new(Reference.Randn([5, 5], seed: 3), true, "w2");     // used twice
        public Variable W3 { get; } = new(Reference.Randn([5, 2], seed: 4), true, "w3");
        public Variable Unused { get; } = new(Reference.Randn([7], seed: 5), true, "unused");
        public Variable Frozen { get; } = new(Reference.Randn([5, 5], seed: 6), false, "frozen"); // in the graph, no grad

        public Variable[] Watched => [W1, W2, W3, Unused, Frozen];

        public Variable Loss()
        {
            var h = Variable.Matmul(X, W1).Tanh();
            h = Variable.Matmul(h, W2).Tanh();
            h = Variable.Matmul(h, W2 + Frozen).Tanh();
            return Variable.Matmul(h, W3).Square().Sum();
        }
    }

    private static double[]? Grad(Variable v) => v.Grad?.ToArray<double>();

    [Test]
    public void EachWatchedLeafIsReportedOnceRightAfterItsLastContribution()
    {
        using var s = DisposalScope.Begin();
        var net = new Net();
        var leaves = net.Watched;
        var reports = new List<(int Leaf, double[]? GradThen, bool W1Pending)>();
        net.Loss().Backward(null, leaves, i => reports.Add((i, Grad(leaves[i]), net.W1.Grad == null)));

        // Leaves without a gradient first (before any rule ran), then in the order their gradients complete:
        // w3 (last layer), w2 (after its second, earlier use), w1.
        Assert.That(reports.Select(r => r.Leaf), Is.EqualTo(new[] { 3, 4, 2, 1, 0 }));
        Assert.That(reports.Select(r => r.W1Pending), Is.EqualTo(new[] { true, true, true, true, false }), "reported during the pass, not after it");
        foreach (var (leaf, then, _) in reports)
            Assert.That(then, Is.EqualTo(Grad(leaves[leaf])), $"{leaves[leaf].Name}: the gradient seen by the callback is the final one");
        Assert.That(net.Unused.Grad, Is.Null);
        Assert.That(net.Frozen.Grad, Is.Null);

        // The same gradients, bit for bit, as a pass without watching.
        var plain = new Net();
        plain.Loss().Backward();
        foreach (var (a, b) in leaves.Zip(plain.Watched)) Assert.That(Grad(a), Is.EqualTo(Grad(b)), a.Name);
    }

    [Test]
    public void GradientsAccumulatedOverPassesAreReportedFinalForTheWatchedPass()
    {
        using var s = DisposalScope.Begin();
        var net = new Net();
        net.Loss().Backward();
        var first = net.Watched.Select(Grad).ToArray();
        var leaves = net.Watched;
        var seen = new Dictionary<int, double[]?>();
        net.Loss().Backward(null, leaves, i => seen.Add(i, Grad(leaves[i])));   // Add throws on a second report
        Assert.That(seen.Keys, Is.EquivalentTo(new[] { 0, 1, 2, 3, 4 }));
        for (int i = 0; i < 3; i++)
        {
            Assert.That(seen[i], Is.EqualTo(first[i]!.Select(x => 2 * x).ToArray()), leaves[i].Name);
            Assert.That(seen[i], Is.EqualTo(Grad(leaves[i])), leaves[i].Name);
        }
    }

    [Test]
    public void ALeafUsedTwiceByOneOpAndALeafRootAreReportedOnce()
    {
        using var s = DisposalScope.Begin();
        var a = new Variable(Tensor.FromArray(new[] { 1.5, -2.0 }, [2]), true, "a");
        var count = new int[1];
        double[]? then = null;
        (a * a).Sum().Backward(null, [a], _ => { count[0]++; then = Grad(a); });
        Assert.That(count[0], Is.EqualTo(1));
        Assert.That(then, Is.EqualTo(new[] { 3.0, -4.0 }));

        var root = new Variable(Tensor.FromArray(new[] { 2.0 }, [1]), true, "root");
        var order = new List<int>();
        root.Backward(null, [root, a], order.Add);
        Assert.That(order, Is.EqualTo(new[] { 1, 0 }), "a (not in this graph) first, then the root");
        Assert.That(Grad(root), Is.EqualTo(new[] { 1.0 }));
    }

    [Test]
    public void WatchingANonLeafOrALeafTwiceIsRejected()
    {
        using var s = DisposalScope.Begin();
        var net = new Net();
        var loss = net.Loss();
        var hidden = Variable.Matmul(net.X, net.W1);
        Assert.That(Assert.Throws<ArgumentException>(() => loss.Backward(null, [net.W1, hidden], _ => { }))!.Message, Does.Contain("not a leaf"));
        Assert.That(Assert.Throws<ArgumentException>(() => loss.Backward(null, [net.W1, net.W2, net.W1], _ => { }))!.Message, Does.Contain("listed twice"));
        Assert.That(net.W1.Grad, Is.Null, "nothing ran");
    }
}
