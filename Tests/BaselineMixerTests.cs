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
}
