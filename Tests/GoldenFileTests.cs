using LightNet.Cli.Golden;
using LightNet.Models;

namespace LightNet.Tests;

/// <summary>
/// Every golden file and checkpoint folder of <c>Tests/golden</c> (copies of the shared small files, the causal
/// <c>lna</c> files of scripts/golden/make_causal_lna.py, the small LM and its fla checkpoint of
/// scripts/golden/make_lightnet_lm.py), plus, where the shared folder exists, every one of its files as held-out cases.
/// </summary>
[Category("Golden")]
public class GoldenFileTests
{
    private static void AssertPasses(string path, DType dt, Device device)
    {
        var report = GoldenRunner.Run(path, dt, device);
        var sw = new StringWriter();
        report.Write(sw);
        Assert.That(report.Passed, Is.True, sw.ToString());
    }

    [TestCaseSource(typeof(Golden), nameof(Golden.FileCases))]
    public void GoldenFilePasses(string path, DType dt) => AssertPasses(path, dt, Device.Cpu);

    [TestCaseSource(typeof(Golden), nameof(Golden.FileCases))]
    public void GoldenFilePassesOnCuda(string path, DType dt) => AssertPasses(path, dt, Gpu.Require());

    /// <summary>The list of files comes from the folder: this pins the repository's folder so that a lost file is noticed.</summary>
    [Test]
    public void RepositoryFolderHoldsEveryKind()
    {
        var files = Golden.Files(Golden.Dir).Select(Path.GetFileName);
        Assert.That(files, Is.EquivalentTo(new[]
        {
            "scan_causal_small.safetensors", "scan_noncausal_small.safetensors", "lrpe_2d_small.safetensors",
            "tpe_2d_small.safetensors", "tpe_1d_causal_small.safetensors", "attn_noncausal_lrpe_2d_small.safetensors",
            "attn_causal_lrpe_1d_small.safetensors", "attn_causal_lrpe_1d_extra.safetensors",
            "image_classifier_tiny.safetensors", "lightnet_lm_small.safetensors",
        }));
        var kinds = Golden.Files(Golden.Dir).Select(f =>
        {
            using var s = SafetensorsFile.Open(f);
            return s.Metadata["kind"];
        }).Distinct();
        Assert.That(kinds, Is.EquivalentTo(new[] { "scan_causal", "scan_noncausal", "lrpe", "tpe", "lna", "image_classifier", "lightnet_lm" }));
        Assert.That(Golden.Checkpoints(Golden.Dir).Select(Path.GetFileName), Is.EqualTo(new[] { "fla_checkpoint_small" }));
        Assert.That(Golden.LmFileWithWeightsOf(Golden.FilePath("fla_checkpoint_small")), Is.EqualTo(Golden.FilePath("lightnet_lm_small.safetensors")));
    }

    /// <summary>A checkpoint folder loads; with the <c>lightnet_lm</c> golden file beside it that holds its weights, that file's ids give that file's logits.</summary>
    [TestCaseSource(typeof(Golden), nameof(Golden.CheckpointCases))]
    public void FlaCheckpointReproducesGoldenLogits(string dir)
    {
        using var s = DisposalScope.Begin();
        var model = Checkpoint.LoadCausalLM(dir);
        var golden = Golden.LmFileWithWeightsOf(dir);
        if (golden == null) Assert.Ignore($"loaded; no lightnet_lm golden file beside {dir} holds its weights, so no logits to compare");
        using var g = SafetensorsFile.Open(golden);
        var ids = g.Load("input_ids", DType.Int64);
        var logits = model.Forward(ids).Data;
        Reference.Close(logits, g.Load("logits", DType.Float64), 1e-4);
    }

    [TestCaseSource(typeof(Golden), nameof(Golden.CheckpointCases))]
    public void SavedCheckpointRoundTripsAndMatchesFlaLayout(string src)
    {
        using var s = DisposalScope.Begin();
        var model = Checkpoint.LoadCausalLM(src);
        var dir = Path.Combine(Path.GetTempPath(), "lightnet-ckpt-" + Guid.NewGuid().ToString("N"));
        try
        {
            Checkpoint.Save(dir, model, model.Config.ToJson());
            using var ours = SafetensorsFile.Open(Path.Combine(dir, "model.safetensors"));
            using var fla = SafetensorsFile.Open(Path.Combine(src, "model.safetensors"));
            Assert.That(ours.Names.Order(), Is.EqualTo(fla.Names.Order()));
            foreach (var n in fla.Names)
            {
                Assert.That(ours.Info(n).Shape, Is.EqualTo(fla.Info(n).Shape), n);
                Assert.That(ours.Info(n).FileDType, Is.EqualTo(fla.Info(n).FileDType), n);
            }
            var cfg = File.ReadAllText(Path.Combine(dir, "config.json"));
            Assert.That(cfg, Does.Contain("\"model_type\": \"lightnet\"").And.Contain("LightNetForCausalLM"));
            var back = Checkpoint.LoadCausalLM(dir);
            long v = model.Config.VocabSize;
            var ids = Tensor.FromArray(new long[] { 1, 5, 9, v - 1, 2, 7 }, [1, 6]);
            Assert.That(back.Forward(ids).Data.ToArray<float>(), Is.EqualTo(model.Forward(ids).Data.ToArray<float>()));
            var bytes1 = File.ReadAllBytes(Path.Combine(dir, "model.safetensors"));
            Checkpoint.Save(dir, back, back.Config.ToJson());
            Assert.That(File.ReadAllBytes(Path.Combine(dir, "model.safetensors")), Is.EqualTo(bytes1), "bytes depend only on weights and config");
        }
        finally { Directory.Delete(dir, true); }
    }
}
