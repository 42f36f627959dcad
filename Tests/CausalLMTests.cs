using LightNet.Autograd;
using LightNet.Models.LightNet;

namespace LightNet.Tests;

public class CausalLMTests
{
    internal static LightNetConfig Tiny => new()
    {
        VocabSize = 11,
        HiddenSize = 8,
        NumHiddenLayers = 2,
        ExpandRatio = 4,
        GateLowRankDim = 3,
        IntermediateSize = 12,
    };

    private static Tensor Ids(int B, int T, int V, ulong seed)
    {
        var g = new Generator(seed);
        var u = Tensor.Rand([B, T], g, DType.Float64).ToDoubleArray();
        return Tensor.FromArray(u.Select(x => (long)(x * V)).ToArray(), [B, T]);
    }

    [Test]
    public void ShapesAndParameterNamesFollowFla()
    {
        using var s = DisposalScope.Begin();
        var m = new LightNetForCausalLM(Tiny);
        var names = m.NamedParameters().Select(p => p.Name).ToList();
        Assert.That(names, Does.Contain("model.embeddings.weight"));
        Assert.That(names, Does.Contain("model.layers.1.attn.g_proj.0.weight"));
        Assert.That(names, Does.Contain("model.layers.0.mlp.down_proj.weight"));
        Assert.That(names, Does.Contain("model.norm.weight"));
        Assert.That(names, Does.Contain("lm_head.weight"));
        var logits = m.Forward(Ids(2, 7, 11, 1));
        Assert.That(logits.Shape, Is.EqualTo(new Shape(2, 7, 11)));
    }

    [Test]
    public void DecodeEqualsPrefill()
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        var m = new LightNetForCausalLM(Tiny with { InitializerRange = 0.3 }, dtype: DType.Float64);
        var ids = Ids(2, 9, 11, 2);
        var full = m.Forward(ids).Data;
        AdditiveState[]? st = null;
        var steps = new List<Tensor>();
        for (int t = 0; t < 9; t++)
        {
            var (l, next) = m.Forward(ids.Narrow(1, t, 1).Contiguous(), null, st);
            steps.Add(l.Data);
            st = next;
        }
        Reference.Close(Tensor.Concat(steps, 1), full, 1e-12);
    }

    /// <summary>The shifted loss equals the mean over (b, t < T−1, target kept) of −log softmax(logits[b, t])[ids[b, t+1]].</summary>
    [Test]
    public void ShiftedLossMatchesExplicitMean([Values] bool masked)
    {
        using var s = DisposalScope.Begin();
        int B = 3, T = 6, V = 7;
        var logits = Reference.Randn([B, T, V], DType.Float64, 70);
        var ids = Ids(B, T, V, 71);
        var mask = masked ? Tensor.FromArray(new long[] { 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, [B, T]) : null;
        var loss = LightNetForCausalLM.ShiftedLoss(new Variable(logits), ids, mask).Data.Item();
        var l = logits.ToDoubleArray();
        var id = ids.ToArray<long>();
        double sum = 0;
        int n = 0;
        for (int b = 0; b < B; b++)
            for (int t = 0; t + 1 < T; t++)
            {
                if (mask != null && mask.ToArray<long>()[b * T + t + 1] == 0) continue;
                var row = l.Skip((b * T + t) * V).Take(V).ToArray();
                double m = row.Max(), lse = m + Math.Log(row.Sum(x => Math.Exp(x - m)));
                sum += lse - row[id[b * T + t + 1]];
                n++;
            }
        Assert.That(loss, Is.EqualTo(sum / n).Within(1e-12));
        Assert.Throws<ShapeException>(() => LightNetForCausalLM.ShiftedLoss(new Variable(logits), ids.Narrow(1, 0, T - 1)));
        var e = Assert.Throws<ShapeException>(() => LightNetForCausalLM.ShiftedLoss(new Variable(logits), ids, Tensor.Ones([B, 1, T], DType.Int64)));
        Assert.That(e!.Message, Does.Contain("attentionMask"));
    }

    [Test]
    public void GradCheckTinyModel()
    {
        using var s = DisposalScope.Begin();
        var m = new LightNetForCausalLM(Tiny with { NumHiddenLayers = 1, InitializerRange = 0.3 }, new Generator(3), DType.Float64);
        var ids = Ids(2, 5, 11, 4);
        var r = GradCheck.CheckParameters(() => m.Loss(ids), m.Parameters().ToList());
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void PaddingMaskGivesSameLogitsAsUnpadded()
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        var m = new LightNetForCausalLM(Tiny with { InitializerRange = 0.3 }, dtype: DType.Float64);
        var ids = Ids(1, 6, 11, 5);
        var padded = Tensor.Concat([Tensor.FromArray(new long[] { 3, 3, 3 }, [1, 3]), ids], 1);
        var mask = Tensor.FromArray(new long[] { 0, 0, 0, 1, 1, 1, 1, 1, 1 }, [1, 9]);
        var a = m.Forward(ids).Data;
        var b = m.Forward(padded, mask).Data.Narrow(1, 3, 6);
        Reference.Close(b, a, 1e-12);
        Assert.That(m.Forward(padded, mask).Data.ToDoubleArray().All(double.IsFinite), Is.True);
    }

    [Test]
    public void LossDecreasesOverTwentySgdSteps()
    {
        using var s = DisposalScope.Begin();
        var m = new LightNetForCausalLM(Tiny with { HiddenSize = 16, ExpandRatio = 8, IntermediateSize = 32 }, new Generator(7));
        var ids = Ids(4, 16, 11, 6);
        double first = 0, last = 0;
        for (int step = 0; step < 20; step++)
        {
            using var sc = DisposalScope.Begin();
            var loss = m.Loss(ids);
            loss.Backward();
            if (step == 0) first = loss.Data.Item();
            last = loss.Data.Item();
            foreach (var p in m.Parameters())
            {
                using var upd = p.Grad! * 1.0;
                p.Data.BinaryInPlace(BinaryOp.Sub, upd);
                p.ZeroGrad();
            }
        }
        Assert.That(last, Is.LessThan(first * 0.9), $"loss {first} → {last}");
    }
}

public class CausalLMOptionsTests
{
    [Test]
    public void DecodeEqualsPrefillWithLrpeOffsets()
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        var m = new LightNetForCausalLM(CausalLMTests.Tiny with { InitializerRange = 0.3, UseLrpe = true, LrpeBase = 7 }, dtype: DType.Float64);
        var ids = Tensor.FromArray(new long[] { 1, 4, 2, 9, 3, 3, 0, 10, 5 }, [1, 9]);
        var full = m.Forward(ids).Data;
        var (l1, st) = m.Forward(ids.Narrow(1, 0, 4).Contiguous(), null, null, 0);
        var parts = new List<Tensor> { l1.Data };
        for (int t = 4; t < 9; t++)
        {
            var (l, next) = m.Forward(ids.Narrow(1, t, 1).Contiguous(), null, st, t);
            parts.Add(l.Data);
            st = next;
        }
        Reference.Close(Tensor.Concat(parts, 1), full, 1e-12);
        // Without the offset the positions would be wrong: the check above can fail.
        var (wrong, _) = m.Forward(ids.Narrow(1, 4, 1).Contiguous(), null, m.Forward(ids.Narrow(1, 0, 4).Contiguous(), null, null, 0).States, 0);
        Assert.That(Reference.RelErr(wrong.Data.ToDoubleArray(), full.Narrow(1, 4, 1).ToDoubleArray()), Is.GreaterThan(1e-6));
    }

    [Test]
    public void CausalTpeOptionIsCausal()
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        var m = new LightNetForCausalLM(CausalLMTests.Tiny with { InitializerRange = 0.3, UseTpe = true, TpeRpeDim = 4 }, dtype: DType.Float64);
        Assert.That(m.NamedParameters().Select(p => p.Name), Does.Contain("model.tpe.decay"));
        var a = Tensor.FromArray(new long[] { 1, 4, 2, 9, 3, 3 }, [1, 6]);
        var b = Tensor.FromArray(new long[] { 1, 4, 2, 9, 7, 8 }, [1, 6]);
        Reference.Close(m.Forward(b).Data.Narrow(1, 0, 4), m.Forward(a).Data.Narrow(1, 0, 4), 1e-13);
        Assert.Throws<NotSupportedException>(() => m.Forward(a, null, null, 3));
    }

    [Test]
    public void GreedyGenerationFollowsTheFullForwardAndSamplingIsSeeded()
    {
        using var s = DisposalScope.Begin();
        var m = new LightNetForCausalLM(CausalLMTests.Tiny with { InitializerRange = 0.5 }, new Generator(5));
        var seq = m.Generate([[1, 2, 3]], 6);
        Assert.That(seq[0], Has.Length.EqualTo(9));
        using var ng = NoGrad.Scope();
        var logits = m.Forward(Tensor.FromArray(seq[0], [1, 9])).Data;
        var arg = logits.ArgMax(2).ToArray<long>();
        for (int t = 2; t < 8; t++) Assert.That(seq[0][t + 1], Is.EqualTo(arg[t]), $"token {t + 1}");
        var s1 = m.Generate([[1, 2], [3, 4]], 5, temperature: 1.0, topK: 4, seed: 9);
        var s2 = m.Generate([[1, 2], [3, 4]], 5, temperature: 1.0, topK: 4, seed: 9);
        Assert.That(s1, Is.EqualTo(s2));
    }
}
