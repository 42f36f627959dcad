using LightNet.Autograd;
using LightNet.Models.LightNet;

namespace LightNet.Tests;

public class BaselineMixerTests
{
    [Test]
    public void TwoDimensionalScanIsSumOfFourDirectionalLineScans()
    {
        using var s = DisposalScope.Begin();
        var cfg = AttentionConfig.FromFla(8, 2, null, 3, causal: false);
        var m = new MultiplicativeDecayAttention(cfg, new Generator(1), DType.Float64);
        int[] grid = [3, 4];
        var x = new Variable(Reference.Randn([2, 12, 8], DType.Float64, 2));
        var o = m.ScanOutput(x, grid).Data;   // [B, T, H·e]
        // Reference: per line recurrence with GatedAttention.Recurrent on explicit index lists.
        using var ng = NoGrad.Scope();
        Tensor H(Variable t) => t.Data.Reshape(2, 12, 2, -1).Permute(0, 2, 1, 3).Contiguous();
        var q = H(m.QProj.Forward(x).Silu()); var k = H(m.KProj.Forward(x)); var v = H(m.VProj.Forward(x));
        var g = H(MultiplicativeDecayAttention.LogSigmoid(m.FProj.Forward(x)));
        var expect = new double[2 * 2 * 12 * 4];
        var lines = new List<int[]>();
        for (int i = 0; i < 3; i++) lines.Add(Enumerable.Range(0, 4).Select(j => i * 4 + j).ToArray());
        for (int j = 0; j < 4; j++) lines.Add(Enumerable.Range(0, 3).Select(i => i * 4 + j).ToArray());
        foreach (var line in lines)
            foreach (var seq in new[] { line, line.Reverse().ToArray() })
            {
                var idx = Tensor.FromArray(seq.Select(t => (long)t).ToArray());
                var (ro, _) = GatedAttention.Recurrent(q.IndexSelect(2, idx), k.IndexSelect(2, idx), v.IndexSelect(2, idx), g.IndexSelect(2, idx), cfg.Scale);
                var rv = ro.ToDoubleArray();
                for (int b = 0; b < 2; b++) for (int h = 0; h < 2; h++) for (int p = 0; p < seq.Length; p++) for (int c = 0; c < 4; c++)
                    expect[((b * 2 + h) * 12 + seq[p]) * 4 + c] += rv[((b * 2 + h) * seq.Length + p) * 4 + c];
            }
        var expectBT = Tensor.FromArray(expect, [2, 2, 12, 4]).Permute(0, 2, 1, 3).Reshape(2, 12, 8);
        Reference.Close(o, expectBT, 1e-12);
    }

    [Test]
    public void GradCheckBaselineOnGrid()
    {
        using var s = DisposalScope.Begin();
        var cfg = AttentionConfig.FromFla(4, 2, null, 2, causal: false);
        var m = new MultiplicativeDecayAttention(cfg, new Generator(3), DType.Float64);
        var x = new Variable(Reference.Randn([1, 6, 4], DType.Float64, 4));
        var r = GradCheck.CheckParameters(() => m.Forward(x, [2, 3]).Square().Sum(), m.Parameters().ToList());
        Assert.That(r.Passed, Is.True, r.Report);
    }

    /// <summary>The per-direction form the batched scan replaced: one gated call per axis and direction, summed in that order.</summary>
    private static Variable PerDirection(MultiplicativeDecayAttention m, Variable x, int[] grid)
    {
        int B = x.Size(0), T = x.Size(1), H = m.Config.NumHeads, r = grid.Length;
        Variable Heads(Variable t) => t.Reshape(B, T, H, -1).Permute(0, 2, 1, 3);
        var q = Heads(m.QProj.Forward(x).Silu()); var k = Heads(m.KProj.Forward(x)); var v = Heads(m.VProj.Forward(x));
        var g = Heads(MultiplicativeDecayAttention.LogSigmoid(m.FProj.Forward(x)));
        Variable? sum = null;
        for (int axis = 0; axis < r; axis++)
            foreach (bool reverse in new[] { false, true })
            {
                int na = grid[axis];
                var others = Enumerable.Range(0, r).Where(a => a != axis).ToArray();
                int[] perm = [0, .. others.Select(a => a + 2), 1, axis + 2, r + 2];
                var inv = new int[perm.Length];
                for (int i = 0; i < perm.Length; i++) inv[perm[i]] = i;
                Variable Lines(Variable t)
                {
                    var lines = t.Reshape([B, H, .. grid, t.Size(3)]).Permute(perm).Reshape(-1, H, na, t.Size(3));
                    return reverse ? lines.Flip(2) : lines;
                }
                var o = AttentionOps.Gated(Lines(q), Lines(k), Lines(v), Lines(g), m.Config.Scale).O;
                if (reverse) o = o.Flip(2);
                int e = v.Size(3);
                var part = o.Reshape([B, .. others.Select(a => grid[a]), H, na, e]).Permute(inv).Reshape(B, H, -1, e);
                sum = sum == null ? part : sum + part;
            }
        return sum!.Permute(0, 2, 1, 3).Reshape(B, T, m.Config.HiddenSize);
    }

    [TestCase(new[] { 3, 4 })]
    [TestCase(new[] { 4, 4 })]
    [TestCase(new[] { 2, 3, 4 })]
    [TestCase(new[] { 3, 3, 3 })]
    [TestCase(new[] { 7 })]
    public void BatchedScansEqualPerDirectionScansForwardAndGradients(int[] grid)
    {
        using var s = DisposalScope.Begin();
        var cfg = AttentionConfig.FromFla(8, 2, null, 3, causal: false);
        var m = new MultiplicativeDecayAttention(cfg, new Generator(5), DType.Float64);
        int T = grid.Aggregate(1, (a, b) => a * b);
        var w = Reference.Randn([2, T, 8], DType.Float64, 7);
        (Tensor O, Tensor[] Grads) Run(Func<Variable, Variable> f)
        {
            var x = new Variable(Reference.Randn([2, T, 8], DType.Float64, 6), requiresGrad: true);
            m.ZeroGrad();
            var o = f(x);
            (o * new Variable(w)).Sum().Backward();
            return (o.Data, [x.Grad!.Clone(), .. m.Parameters().Where(p => p.Grad != null).Select(p => p.Grad!.Clone())]);
        }
        var batched = Run(x => m.ScanOutput(x, grid));
        var reference = Run(x => PerDirection(m, x, grid));
        Reference.Close(batched.O, reference.O, 1e-12, "output");
        for (int i = 0; i < batched.Grads.Length; i++) Reference.Close(batched.Grads[i], reference.Grads[i], 1e-12, $"gradient {i}");
    }

    [Test]
    public void LineIndexCoversEveryTokenOncePerDirection()
    {
        int[] grid = [2, 3, 4, 3];
        var groups = MultiplicativeDecayAttention.LineIndex(grid);
        Assert.That(groups.Select(gp => gp.Length), Is.EqualTo(new[] { 2, 3, 4 }));
        foreach (var (L, lines) in groups)
        {
            int axes = grid.Count(n => n == L);
            Assert.That(lines, Has.Length.EqualTo(2 * axes * 72));
            for (int d = 0; d < 2 * axes; d++)
                Assert.That(lines.Skip(d * 72).Take(72).Order(), Is.EqualTo(Enumerable.Range(0, 72).Select(t => (long)t)));
        }
    }

    [Test]
    public void GradCheckBaselineOnThreeDimensionalGrid()
    {
        using var s = DisposalScope.Begin();
        var cfg = AttentionConfig.FromFla(4, 2, null, 2, causal: false);
        var m = new MultiplicativeDecayAttention(cfg, new Generator(8), DType.Float64);
        var x = new Variable(Reference.Randn([1, 12, 4], DType.Float64, 9), requiresGrad: true);
        var r = GradCheck.CheckParameters(() => m.Forward(x, [2, 2, 3]).Square().Sum(), [x, .. m.Parameters()]);
        Assert.That(r.Passed, Is.True, r.Report);
    }
}
