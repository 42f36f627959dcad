using System.Text.RegularExpressions;
using LightNet.Autograd;
using LightNet.Models.LightNet;

namespace LightNet.Tests;

public class SoftmaxBaselineTests
{
    private static LightNetConfig Tiny(MixerKind mixer) => new()
    {
        VocabSize = 11,
        HiddenSize = 8,
        NumHiddenLayers = 2,
        NumHeads = 2,
        ExpandRatio = 4,
        GateLowRankDim = 3,
        IntermediateSize = 12,
        Mixer = mixer,
    };

    [Test]
    public void SoftmaxCausalMatchesLoops()
    {
        using var s = DisposalScope.Begin();
        var q = Reference.Randn([1, 2, 5, 3], seed: 1);
        var k = Reference.Randn([1, 2, 5, 3], seed: 2);
        var v = Reference.Randn([1, 2, 5, 4], seed: 3);
        var o = SoftmaxAttentionOps.Causal(new Variable(q), new Variable(k), new Variable(v), 0.7).Data;
        double[] qa = q.ToDoubleArray(), ka = k.ToDoubleArray(), va = v.ToDoubleArray();
        var expect = new double[2 * 5 * 4];
        for (int h = 0; h < 2; h++)
            for (int t = 0; t < 5; t++)
            {
                var w = new double[t + 1];
                for (int u = 0; u <= t; u++)
                    for (int i = 0; i < 3; i++) w[u] += 0.7 * qa[(h * 5 + t) * 3 + i] * ka[(h * 5 + u) * 3 + i];
                double max = w.Max(), sum = w.Sum(x => Math.Exp(x - max));
                for (int u = 0; u <= t; u++)
                    for (int c = 0; c < 4; c++) expect[(h * 5 + t) * 4 + c] += Math.Exp(w[u] - max) / sum * va[(h * 5 + u) * 4 + c];
            }
        Reference.Close(o, expect, 1e-12);
    }

    [Test]
    public void GradCheckSoftmaxCausalInFloat64()
    {
        using var s = DisposalScope.Begin();
        var r = GradCheck.Check(x => SoftmaxAttentionOps.Causal(x[0], x[1], x[2], 0.6),
            [Reference.Randn([2, 2, 4, 3], seed: 4), Reference.Randn([2, 2, 4, 3], seed: 5), Reference.Randn([2, 2, 4, 2], seed: 6)]);
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void GradCheckSoftmaxAttentionLayerWithRope()
    {
        using var s = DisposalScope.Begin();
        var m = new SoftmaxAttention(AttentionConfig.FromFla(4, 2, null, 2, causal: true), new Generator(3), DType.Float64);
        var x = new Variable(Reference.Randn([1, 5, 4], seed: 7));
        var r = GradCheck.CheckParameters(() => m.Forward(x).Square().Sum(), m.Parameters().ToList());
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void RopeScoresDependOnlyOnRelativePosition()
    {
        using var s = DisposalScope.Begin();
        // The same q at every position and the same k at every position: q_t·k_u depends on t − u only.
        var q = Reference.Randn([1, 1, 1, 4], seed: 8).Expand(1, 1, 6, 4).Contiguous();
        var k = Reference.Randn([1, 1, 1, 4], seed: 9).Expand(1, 1, 6, 4).Contiguous();
        var scores = Variable.Matmul(SoftmaxAttention.Rope(new Variable(q)), SoftmaxAttention.Rope(new Variable(k)).Transpose()).Data.ToDoubleArray();
        for (int t = 1; t < 6; t++)
            for (int u = 1; u < 6; u++) Assert.That(scores[t * 6 + u], Is.EqualTo(scores[(t - 1) * 6 + u - 1]).Within(1e-12));
    }

    [TestCase(MixerKind.LightNet)]
    [TestCase(MixerKind.Gla)]
    [TestCase(MixerKind.Softmax)]
    public void CausalLMIsCausalForEveryMixer(MixerKind mixer)
    {
        using var s = DisposalScope.Begin();
        var model = new LightNetForCausalLM(Tiny(mixer), new Generator(1), DType.Float64);
        long[] a = [1, 4, 2, 9, 3, 3, 7, 0, 5, 6];
        var b = (long[])a.Clone();
        b[6] = 8;
        var la = model.Forward(Tensor.FromArray(a, [1, 10])).Data.ToDoubleArray();
        var lb = model.Forward(Tensor.FromArray(b, [1, 10])).Data.ToDoubleArray();
        Assert.That(lb[..(6 * 11)], Is.EqualTo(la[..(6 * 11)]), "logits before the changed token");
        Assert.That(lb[(6 * 11)..(7 * 11)], Is.Not.EqualTo(la[(6 * 11)..(7 * 11)]), "logits at the changed token");
    }

    [Test]
    public void SoftmaxAndLightNetHaveTheSameParameterCount()
    {
        var lightnet = new LightNetForCausalLM(Tiny(MixerKind.LightNet));
        var softmax = new LightNetForCausalLM(Tiny(MixerKind.Softmax));
        Assert.That(softmax.ParameterCount, Is.EqualTo(lightnet.ParameterCount));
        Assert.That(softmax.NamedParameters().Select(p => p.Name), Is.EqualTo(lightnet.NamedParameters().Select(p => p.Name)));
    }

    [TestCase(MixerKind.Gla)]
    [TestCase(MixerKind.Softmax)]
    public void BaselineGenerationRereadsThePrefix(MixerKind mixer)
    {
        using var s = DisposalScope.Begin();
        var model = new LightNetForCausalLM(Tiny(mixer), new Generator(2));
        var outIds = model.Generate([[1, 2, 3]], 4)[0];
        // Greedy: each new token is the argmax of the full-sequence forward at the previous position.
        for (int n = 3; n < 7; n++)
        {
            var logits = model.Forward(Tensor.FromArray(outIds[..n], [1, n])).Data.Select(1, n - 1).ToDoubleArray();
            Assert.That(outIds[n], Is.EqualTo(Array.IndexOf(logits, logits.Max())), $"token {n}");
        }
        Assert.Throws<NotSupportedException>(() => model.Forward(Tensor.FromArray(new long[] { 1 }, [1, 1]), null, null, offset: 1));
    }

    [Test]
    public void ConfigRoundTripKeepsMixerTokenizerAndWindow()
    {
        var cfg = Tiny(MixerKind.Softmax) with { Tokenizer = "byte", MaxPositionEmbeddings = 64 };
        var json = cfg.ToJson();
        Assert.That(json, Does.Contain("\"mixer\": \"softmax\""));
        Assert.That(LightNetConfig.FromJson(json), Is.EqualTo(cfg));
        Assert.That(LightNetConfig.FromJson(Regex.Replace(Tiny(MixerKind.LightNet).ToJson(), ",\\s*\"mixer\": \"lightnet\"", "")).Mixer, Is.EqualTo(MixerKind.LightNet), "fla configs have no mixer key");
        var e = Assert.Throws<InvalidDataException>(() => LightNetConfig.FromJson(json.Replace("\"softmax\"", "\"rnn\""), "x/config.json"));
        Assert.That(e!.Message, Does.Contain("unknown mixer 'rnn'"));
        var mlm = new MaskedLMConfig { Mixer = MixerKind.Gla, Tokenizer = "gpt2", MaxPositionEmbeddings = 32, Lrpe = false };
        Assert.That(MaskedLMConfig.FromJson(mlm.ToJson()), Is.EqualTo(mlm));
        Assert.Throws<InvalidDataException>(() => MaskedLMConfig.FromJson(mlm.ToJson().Replace("\"gla\"", "\"softmax\"")), "the masked LM has no softmax mixer");
    }
}
