using System.Text.Json.Nodes;
using LightNet.Autograd;
using LightNet.Models;
using LightNet.Models.LightNet;

namespace LightNet.Tests;

/// <summary>
/// fla compatibility, both ways: only models fla's LightNetForCausalLM computes exactly claim fla's model_type;
/// <see cref="Checkpoint.ExportFla"/> writes fla's exact form or refuses naming what fla lacks; config settings of
/// fla that change the math and are not implemented are refused by name.
/// </summary>
public class FlaCompatTests
{
    /// <summary>Every field of fla's LightNetConfig (its __init__ arguments), plus the two Hugging Face identity keys.</summary>
    private static readonly string[] FlaFields =
    [
        "architectures", "model_type", "hidden_size", "num_hidden_layers", "attn_mode", "num_heads", "expand_ratio", "use_short_conv",
        "conv_size", "hidden_ratio", "intermediate_size", "hidden_act", "max_position_embeddings", "gate_low_rank_dim",
        "elementwise_affine", "norm_eps", "attn", "use_cache", "pad_token_id", "bos_token_id", "eos_token_id", "tie_word_embeddings",
        "initializer_range", "fuse_norm", "fuse_swiglu", "fuse_cross_entropy", "fuse_linear_cross_entropy", "use_l2warp", "vocab_size",
    ];

    private static LightNetConfig Tiny => CausalLMTests.Tiny with { InitializerRange = 0.3, Tokenizer = "byte", MaxPositionEmbeddings = 16 };

    private static Tensor Ids => Tensor.FromArray(new long[] { 1, 5, 9, 3, 2, 7, 10, 0 }, [2, 4]);

    private static JsonObject Json(string text) => (JsonObject)JsonNode.Parse(text)!;

    private static string WriteRun(TempDir t, LightNetConfig cfg, out LightNetForCausalLM model, string? configJson = null)
    {
        var dir = Path.Combine(t.Path, "run");
        model = new LightNetForCausalLM(cfg, new Generator(3));
        Checkpoint.Save(dir, model, configJson ?? cfg.ToJson());
        return dir;
    }

    [Test]
    public void OnlyFlaModelsClaimFlaModelType()
    {
        var fla = Json(Tiny.ToJson());
        Assert.That((string?)fla["model_type"], Is.EqualTo("lightnet"));
        Assert.That((string?)fla["architectures"]![0], Is.EqualTo("LightNetForCausalLM"));
        Assert.That(Tiny.IsFlaModel, Is.True);
        Assert.That(Tiny with { AttnScale = 0.5 }, Has.Property(nameof(LightNetConfig.IsFlaModel)).True, "0.5 is d^-1/2 for d = 4");

        foreach (var own in new[]
                 {
                     Tiny with { UseTpe = true, UseLrpe = true }, Tiny with { UseTpe = true }, Tiny with { UseLrpe = true },
                     Tiny with { Mixer = MixerKind.Softmax }, Tiny with { Mixer = MixerKind.Gla }, Tiny with { AttnScale = 1 },
                 })
        {
            var o = Json(own.ToJson());
            Assert.That((string?)o["model_type"], Is.EqualTo("lightnet_md"), own.ToString());
            Assert.That((string?)o["architectures"]![0], Is.EqualTo("LightNetMDForCausalLM"), own.ToString());
            Assert.That(own.IsFlaModel, Is.False);
            Assert.That(LightNetConfig.FromJson(own.ToJson()), Is.EqualTo(own), "round trip");
        }
    }

    [Test]
    public void TpeLrpeCheckpointRoundTripsUnderOwnModelType()
    {
        using var s = DisposalScope.Begin();
        using var t = new TempDir();
        var dir = WriteRun(t, Tiny with { UseTpe = true, UseLrpe = true, TpeRpeDim = 4 }, out var model);
        Assert.That(File.ReadAllText(Path.Combine(dir, "config.json")), Does.Contain("\"lightnet_md\""));
        var back = Checkpoint.LoadCausalLM(dir);
        Assert.That(back.Config, Is.EqualTo(model.Config));
        Assert.That(back.Forward(Ids).Data.ToArray<float>(), Is.EqualTo(model.Forward(Ids).Data.ToArray<float>()));
    }

    /// <summary>Run directories written before the split say model_type "lightnet" with use_tpe / use_lrpe: they must keep loading.</summary>
    [Test]
    public void OldLightnetConfigWithTpeAndLrpeStillLoads()
    {
        using var s = DisposalScope.Begin();
        using var t = new TempDir();
        var cfg = Tiny with { UseTpe = true, UseLrpe = true, TpeRpeDim = 4 };
        var old = cfg.ToJson().Replace("\"lightnet_md\"", "\"lightnet\"").Replace("LightNetMDForCausalLM", "LightNetForCausalLM");
        Assert.That(old, Does.Contain("\"model_type\": \"lightnet\"").And.Contain("\"use_tpe\": true").And.Not.Contain("lightnet_md"));
        var dir = WriteRun(t, cfg, out var model, old);
        var back = Checkpoint.LoadCausalLM(dir);
        Assert.That(back.Config, Is.EqualTo(cfg));
        Assert.That(back.NamedParameters().Select(p => p.Name), Does.Contain("model.tpe.decay"));
        Assert.That(back.Forward(Ids).Data.ToArray<float>(), Is.EqualTo(model.Forward(Ids).Data.ToArray<float>()));
        // The older key name of LRPE too.
        Assert.That(LightNetConfig.FromJson(old.Replace("\"use_lrpe\"", "\"lrpe\"")).UseLrpe, Is.True);
    }

    [Test]
    public void ExportOfFlaModelIsFlaFormAndReproducesLogits()
    {
        using var s = DisposalScope.Begin();
        using var t = new TempDir();
        var dir = WriteRun(t, Tiny, out var model);
        var outDir = Path.Combine(t.Path, "fla");
        Checkpoint.ExportFla(dir, outDir);

        var o = Json(File.ReadAllText(Path.Combine(outDir, "config.json")));
        Assert.That(o.Select(kv => kv.Key), Is.SupersetOf(FlaFields));
        Assert.That(o.Select(kv => kv.Key), Is.SubsetOf(FlaFields.Concat(["dtype", "attnres_block_size"])), "none of the engine's own keys");
        Assert.That((string?)o["model_type"], Is.EqualTo("lightnet"));
        Assert.That((string?)o["architectures"]![0], Is.EqualTo("LightNetForCausalLM"));
        Assert.That((bool?)o["use_short_conv"], Is.False);
        Assert.That((int?)o["expand_ratio"], Is.EqualTo(4));
        Assert.That((int?)o["num_heads"], Is.EqualTo(2));
        Assert.That((int?)o["intermediate_size"], Is.EqualTo(12));

        using (var f = SafetensorsFile.Open(Path.Combine(outDir, "model.safetensors")))
        {
            Assert.That(f.Names.Order(), Is.EqualTo(model.NamedParameters().Select(p => p.Name).Order()));
            foreach (var n in f.Names) Assert.That(f.Info(n).DType, Is.EqualTo(DType.Float32), n);
            Assert.That(f.Metadata["format"], Is.EqualTo("pt"));
        }
        var back = Checkpoint.LoadCausalLM(outDir);
        Assert.That(back.Forward(Ids).Data.ToArray<float>(), Is.EqualTo(model.Forward(Ids).Data.ToArray<float>()));
    }

    [TestCase(DType.BFloat16)]
    [TestCase(DType.Float64)]
    public void ExportConvertsWeightsToFloat32(DType stored)
    {
        using var s = DisposalScope.Begin();
        using var t = new TempDir();
        var dir = WriteRun(t, Tiny with { TieWordEmbeddings = true }, out var model);
        var weights = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param.Data.To(stored));
        SafetensorsFile.Save(Path.Combine(dir, "model.safetensors"), weights, new Dictionary<string, string> { ["format"] = "pt" });
        var outDir = Path.Combine(t.Path, "fla");
        Checkpoint.ExportFla(dir, outDir);
        using var f = SafetensorsFile.Open(Path.Combine(outDir, "model.safetensors"));
        Assert.That(f.Names, Does.Not.Contain("lm_head.weight"), "tied: fla reuses the embedding");
        foreach (var n in f.Names)
        {
            Assert.That(f.Info(n).DType, Is.EqualTo(DType.Float32), n);
            using var expect = weights[n].To(DType.Float32);
            Assert.That(f.Load(n, DType.Float32).ToArray<float>(), Is.EqualTo(expect.ToArray<float>()), n);
        }
        Assert.That((bool?)Json(File.ReadAllText(Path.Combine(outDir, "config.json")))["tie_word_embeddings"], Is.True);
    }

    [Test]
    public void ExportOfFlaGoldenCheckpointKeepsItsLayout()
    {
        using var s = DisposalScope.Begin();
        using var t = new TempDir();
        var src = Golden.FilePath("fla_checkpoint_small");
        Checkpoint.ExportFla(src, t.Path);
        using var ours = SafetensorsFile.Open(Path.Combine(t.Path, "model.safetensors"));
        using var fla = SafetensorsFile.Open(Path.Combine(src, "model.safetensors"));
        Assert.That(ours.Names.Order(), Is.EqualTo(fla.Names.Order()));
        foreach (var n in fla.Names) Assert.That(ours.Info(n).Shape, Is.EqualTo(fla.Info(n).Shape), n);
        var mine = Json(File.ReadAllText(Path.Combine(t.Path, "config.json")));
        var theirs = Json(File.ReadAllText(Path.Combine(src, "config.json")));
        static string? Norm(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? d.ToString("R") : n?.ToJsonString();
        foreach (var k in FlaFields.Where(k => k is not ("num_heads" or "intermediate_size")))
            Assert.That(Norm(mine[k]), Is.EqualTo(Norm(theirs[k])), k);
        var a = Checkpoint.LoadCausalLM(src);
        var b = Checkpoint.LoadCausalLM(t.Path);
        var ids = Tensor.FromArray(new long[] { 1, 5, 9, 100, 2, 7 }, [1, 6]);
        Assert.That(b.Forward(ids).Data.ToArray<float>(), Is.EqualTo(a.Forward(ids).Data.ToArray<float>()));
    }

    [Test]
    public void ExportRefusesWhatFlaCannotCompute()
    {
        using var s = DisposalScope.Begin();
        foreach (var (cfg, expect) in new (LightNetConfig, string)[]
                 {
                     (Tiny with { UseTpe = true, TpeRpeDim = 4 }, "model.tpe.* (MD-TPE"),
                     (Tiny with { UseLrpe = true }, "MD-LRPE (use_lrpe)"),
                     (Tiny with { Mixer = MixerKind.Softmax }, "mixer 'softmax'"),
                     (Tiny with { AttnScale = 1 }, "attn_scale 1"),
                 })
        {
            using var t = new TempDir();
            var dir = WriteRun(t, cfg, out _);
            var outDir = Path.Combine(t.Path, "fla");
            var e = Assert.Throws<InvalidOperationException>(() => Checkpoint.ExportFla(dir, outDir))!;
            Assert.That(e.Message, Does.Contain(expect).And.Contain("fla"));
            Assert.That(Directory.Exists(outDir), Is.False, "nothing written");
            Assert.Throws<InvalidOperationException>(() => cfg.ToFlaJson());
        }
        // Both options on (the `train lm` default): both are named.
        using (var t = new TempDir())
        {
            var dir = WriteRun(t, Tiny with { UseTpe = true, UseLrpe = true, TpeRpeDim = 4 }, out _);
            var e = Assert.Throws<InvalidOperationException>(() => Checkpoint.ExportFla(dir, Path.Combine(t.Path, "fla")))!;
            Assert.That(e.Message, Does.Contain("model.tpe.*").And.Contain("use_lrpe"));
        }
    }

    [Test]
    public void ExportRefusesOtherRunKindsAndMissingWeights()
    {
        using var s = DisposalScope.Begin();
        using var t = new TempDir();
        var mlm = Path.Combine(t.Path, "mlm");
        Directory.CreateDirectory(mlm);
        File.WriteAllText(Path.Combine(mlm, "config.json"), new MaskedLMConfig { VocabSize = 11, HiddenSize = 8, NumHiddenLayers = 1, NumHeads = 2 }.ToJson());
        Assert.That(Assert.Throws<InvalidOperationException>(() => Checkpoint.ExportFla(mlm, Path.Combine(t.Path, "o1")))!.Message, Does.Contain("model_type"));

        var unfinished = Path.Combine(t.Path, "unfinished");
        Directory.CreateDirectory(unfinished);
        File.WriteAllText(Path.Combine(unfinished, "config.json"), Tiny.ToJson());
        Assert.Throws<FileNotFoundException>(() => Checkpoint.ExportFla(unfinished, Path.Combine(t.Path, "o2")));
        Assert.Throws<ArgumentException>(() => Checkpoint.ExportFla(unfinished, unfinished + "/"));
    }

    private static string With(string key, JsonNode? value)
    {
        var o = Json(Tiny.ToJson());
        o[key] = value;
        return o.ToJsonString();
    }

    [TestCase("use_short_conv", "\"yes\"")]
    [TestCase("hidden_act", "\"gelu\"")]
    [TestCase("hidden_act", "null")]
    [TestCase("elementwise_affine", "false")]
    [TestCase("elementwise_affine", "null")]
    [TestCase("attn", "{\"layers\": [1], \"num_heads\": 2}")]
    [TestCase("attnres_block_size", "2")]
    [TestCase("model_type", "\"llama\"")]
    public void ConfigSettingThatChangesTheMathIsRefusedByName(string key, string valueJson)
    {
        var e = Assert.Throws<InvalidDataException>(() => LightNetConfig.FromJson(With(key, JsonNode.Parse(valueJson)), "run/config.json"))!;
        Assert.That(e.Message, Does.Contain($"'{key}'").And.Contain("run/config.json"));
    }

    [TestCase("use_short_conv", "false")]
    [TestCase("hidden_act", "\"silu\"")]
    [TestCase("hidden_act", "\"swish\"")]
    [TestCase("elementwise_affine", "true")]
    [TestCase("attn", "null")]
    [TestCase("attnres_block_size", "null")]
    [TestCase("use_l2warp", "true")]
    [TestCase("fuse_norm", "false")]
    [TestCase("fuse_linear_cross_entropy", "true")]
    [TestCase("attn_mode", "\"fused_recurrent\"")]
    [TestCase("pad_token_id", "0")]
    [TestCase("model_type", "\"lightnet_md\"")]
    public void ImplementationOnlySettingIsAccepted(string key, string valueJson) =>
        Assert.That(LightNetConfig.FromJson(With(key, JsonNode.Parse(valueJson))), Is.EqualTo(Tiny));

    [Test]
    public void ShortConvolutionSettingsAreRead()
    {
        Assert.That(LightNetConfig.FromJson(With("conv_size", 8)), Is.EqualTo(Tiny with { ConvSize = 8 }), "conv_size is kept but unused without use_short_conv");
        var o = Json(Tiny.ToJson());
        o["use_short_conv"] = true;
        o["conv_size"] = 3;
        Assert.That(LightNetConfig.FromJson(o.ToJsonString()), Is.EqualTo(Tiny with { UseShortConv = true, ConvSize = 3 }));
        o["conv_size"] = 0;
        Assert.That(Assert.Throws<InvalidDataException>(() => LightNetConfig.FromJson(o.ToJsonString()))!.Message, Does.Contain("'conv_size'"));
    }

    [Test]
    public void FlaGoldenConfigIsAccepted() =>
        Assert.That(LightNetConfig.FromJson(File.ReadAllText(Golden.FilePath("fla_checkpoint_small/config.json"))).IsFlaModel, Is.True);
}
