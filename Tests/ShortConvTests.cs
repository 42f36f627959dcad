using System.Text.Json.Nodes;
using LightNet.Autograd;
using LightNet.Models;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;

namespace LightNet.Tests;

/// <summary>
/// fla's <c>use_short_conv</c>: causal depthwise convolutions of the projected q, k and v (fla's ShortConvolution with
/// no bias and no activation: <c>y[t] = Σ_j w[:, 0, j] · x[t − (K − 1) + j]</c>, zeros before the first token).
/// </summary>
public class ShortConvTests
{
    private static double[] Direct(double[] x, double[] w, double[]? mask, int B, int T, int C, int K)
    {
        var y = new double[B * T * C];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int c = 0; c < C; c++)
                {
                    double s = 0;
                    for (int j = 0; j < K; j++)
                    {
                        int src = t - (K - 1) + j;
                        if (src < 0) continue;
                        double m = mask == null ? 1 : mask[b * T + src];
                        s += w[c * K + j] * m * x[(b * T + src) * C + c];
                    }
                    y[(b * T + t) * C + c] = s;
                }
        return y;
    }

    [TestCase(7, 3, false)]
    [TestCase(7, 4, true)]
    [TestCase(4, 9, false)]
    [TestCase(1, 2, true)]
    public void ConvolutionIsTheCausalDepthwiseSum(int T, int K, bool masked)
    {
        using var s = DisposalScope.Begin();
        int B = 2, C = 5;
        var x = Reference.Randn([B, T, C], DType.Float64, 1);
        var w = Reference.Randn([C, 1, K], DType.Float64, 2);
        double[]? mask = null;
        Tensor? m = null;
        if (masked)
        {
            mask = new double[B * T];
            for (int t = 0; t < T; t++) { mask[t] = t < T / 2 ? 0 : 1; mask[T + t] = 1; } // row 0 left-padded
            m = Tensor.FromArray(mask.Select(v => (long)v).ToArray(), [B, T]);
        }
        var y = ShortConvolution.Apply(new Variable(x), new Variable(w), m).Data;
        Assert.That(y.Shape, Is.EqualTo(new Shape(B, T, C)));
        Assert.That(y.ToDoubleArray(), Is.EqualTo(Direct(x.ToDoubleArray(), w.ToDoubleArray(), mask, B, T, C, K)).Within(1e-13));
    }

    [Test]
    public void GradCheckOfInputAndWeight()
    {
        using var s = DisposalScope.Begin();
        var r = GradCheck.Check(v => ShortConvolution.Apply(v[0], v[1]), [Reference.Randn([2, 6, 3], DType.Float64, 3), Reference.Randn([3, 1, 4], DType.Float64, 4)]);
        Assert.That(r.Passed, Is.True, r.Report);
    }

    private static LightNetConfig Conv => CausalLMTests.Tiny with { InitializerRange = 0.3, UseShortConv = true, ConvSize = 3 };

    private static Tensor Ids => Tensor.FromArray(new long[] { 1, 5, 9, 3, 2, 7, 10, 0, 4, 4, 6, 8 }, [2, 6]);

    [Test]
    public void ParametersFollowFlaNamesAndShapes()
    {
        using var s = DisposalScope.Begin();
        var m = new LightNetForCausalLM(Conv);
        var p = m.NamedParameters().ToDictionary(x => x.Name, x => x.Param.Shape);
        Assert.That(p["model.layers.0.attn.q_conv1d.weight"], Is.EqualTo(new Shape(8, 1, 3)));
        Assert.That(p["model.layers.1.attn.k_conv1d.weight"], Is.EqualTo(new Shape(8, 1, 3)));
        Assert.That(p["model.layers.1.attn.v_conv1d.weight"], Is.EqualTo(new Shape(8, 1, 3)));
        Assert.That(new LightNetForCausalLM(Conv with { UseShortConv = false }).NamedParameters().Select(x => x.Name), Has.None.Contains("conv1d"));
        Assert.Throws<NotSupportedException>(() => new LightNetForCausalLM(Conv with { Mixer = MixerKind.Softmax }));
    }

    /// <summary>
    /// Wiring: with kernels a·δ (only the current-token tap) the convolutions scale q, k and v, so the model equals
    /// the one without convolutions whose q_proj, k_proj, v_proj are scaled the same way (q before its SiLU).
    /// </summary>
    [Test]
    public void ScaledIdentityKernelsEqualScaledProjections()
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        var withConv = new LightNetForCausalLM(Conv, new Generator(5), DType.Float64);
        var plain = new LightNetForCausalLM(Conv with { UseShortConv = false }, new Generator(6), DType.Float64);
        plain.LoadStateDict(withConv.StateDict().Where(kv => !kv.Key.Contains("conv1d")).ToDictionary(kv => kv.Key, kv => kv.Value));
        var scales = new Dictionary<string, double> { ["q"] = 2, ["k"] = 3, ["v"] = 0.5 };
        var conv = withConv.NamedParameters().ToDictionary(x => x.Name, x => x.Param);
        var proj = plain.NamedParameters().ToDictionary(x => x.Name, x => x.Param);
        for (int l = 0; l < 2; l++)
            foreach (var (qkv, a) in scales)
            {
                var w = conv[$"model.layers.{l}.attn.{qkv}_conv1d.weight"];
                int C = w.Size(0), K = w.Size(2);
                var kernel = new double[C * K];
                for (int c = 0; c < C; c++) kernel[c * K + K - 1] = a;
                w.Data.CopyFrom(Tensor.FromArray(kernel, [C, 1, K]));
                var p = proj[$"model.layers.{l}.attn.{qkv}_proj.weight"];
                using var scaled = p.Data * a;
                p.Data.CopyFrom(scaled);
            }
        Reference.Close(withConv.Forward(Ids).Data, plain.Forward(Ids).Data, 1e-12);
        // A kernel that reaches back changes the output.
        var k0 = conv["model.layers.0.attn.k_conv1d.weight"];
        using var rnd = Reference.Randn([8, 1, 3], DType.Float64, 9);
        k0.Data.CopyFrom(rnd);
        Assert.That(withConv.Forward(Ids).Data.ToDoubleArray(), Is.Not.EqualTo(plain.Forward(Ids).Data.ToDoubleArray()));
    }

    [Test]
    public void ModelIsCausal()
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        var m = new LightNetForCausalLM(Conv, new Generator(7), DType.Float64);
        var a = Tensor.FromArray(new long[] { 1, 4, 2, 9, 3, 3 }, [1, 6]);
        var b = Tensor.FromArray(new long[] { 1, 4, 2, 9, 7, 8 }, [1, 6]);
        Reference.Close(m.Forward(b).Data.Narrow(1, 0, 4), m.Forward(a).Data.Narrow(1, 0, 4), 1e-13);
    }

    [Test]
    public void GenerationReReadsTheContextAndDecodingFromAStateIsRefused()
    {
        using var s = DisposalScope.Begin();
        var m = new LightNetForCausalLM(Conv, new Generator(8), DType.Float64);
        Assert.Throws<NotSupportedException>(() => m.Forward(Ids, null, null, 3));
        var (_, states) = new LightNetForCausalLM(Conv with { UseShortConv = false }, new Generator(8), DType.Float64).Forward(Ids, null, null);
        Assert.Throws<NotSupportedException>(() => m.Forward(Ids, null, states));
        var prompt = new long[] { 1, 5, 9 };
        var got = m.Generate([prompt], 3);
        var seq = prompt.ToList();
        using (NoGrad.Scope())
            for (int i = 0; i < 3; i++)
            {
                var logits = m.Forward(Tensor.FromArray(seq.ToArray(), [1, seq.Count])).Data.Select(1, seq.Count - 1).ToDoubleArray();
                seq.Add(Array.IndexOf(logits, logits.Max()));
            }
        Assert.That(got[0], Is.EqualTo(seq.ToArray()));
    }

    [Test]
    public void CheckpointRoundTripsAndExportsToFla()
    {
        using var s = DisposalScope.Begin();
        using var t = new TempDir();
        var run = Path.Combine(t.Path, "run");
        var m = new LightNetForCausalLM(Conv, new Generator(9));
        Checkpoint.Save(run, m, Conv.ToJson());
        var cfg = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!;
        Assert.That((bool?)cfg["use_short_conv"], Is.True);
        Assert.That((string?)cfg["model_type"], Is.EqualTo("lightnet"), "fla computes the short convolution");
        var back = Checkpoint.LoadCausalLM(run);
        Assert.That(back.Forward(Ids).Data.ToArray<float>(), Is.EqualTo(m.Forward(Ids).Data.ToArray<float>()));

        var fla = Path.Combine(t.Path, "fla");
        Checkpoint.ExportFla(run, fla);
        var o = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(fla, "config.json")))!;
        Assert.That((bool?)o["use_short_conv"], Is.True);
        Assert.That((int?)o["conv_size"], Is.EqualTo(3));
        using (var f = SafetensorsFile.Open(Path.Combine(fla, "model.safetensors")))
            Assert.That(f.Info("model.layers.0.attn.v_conv1d.weight").Shape, Is.EqualTo(new Shape(8, 1, 3)));
        Assert.That(Checkpoint.LoadCausalLM(fla).Forward(Ids).Data.ToArray<float>(), Is.EqualTo(m.Forward(Ids).Data.ToArray<float>()));
    }
}
