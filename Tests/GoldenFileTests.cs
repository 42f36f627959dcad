using LightNet.Cli.Golden;
using LightNet.Models;

namespace LightNet.Tests;

public class GoldenFileTests
{
    private static readonly string[] Files =
    [
        "scan_causal_small.safetensors", "scan_noncausal_small.safetensors", "lrpe_2d_small.safetensors",
        "tpe_2d_small.safetensors", "tpe_1d_causal_small.safetensors", "attn_noncausal_lrpe_2d_small.safetensors",
        "image_classifier_tiny.safetensors", "lightnet_lm_tiny.safetensors",
    ];

    [Test]
    public void SharedGoldenFilePasses([ValueSource(nameof(Files))] string file, [Values(DType.Float32, DType.Float64)] DType dt) =>
        AssertPasses(Golden.FilePath(file), dt, Device.Cpu);

    private static void AssertPasses(string path, DType dt, Device device)
    {
        var report = GoldenRunner.Run(path, dt, device);
        var sw = new StringWriter();
        report.Write(sw);
        Assert.That(report.Passed, Is.True, sw.ToString());
    }

    [Test]
    public void SharedGoldenFilePassesOnCuda([ValueSource(nameof(Files))] string file, [Values(DType.Float32, DType.Float64)] DType dt) =>
        AssertPasses(Golden.FilePath(file), dt, Gpu.Require());

    /// <summary>Golden files generated in this repository by an independent PyTorch float64 reference (scripts/golden/make_causal_lna.py): the causal `lna` variant.</summary>
    private static readonly string[] OwnFiles = ["attn_causal_lrpe_1d_small.safetensors", "attn_causal_lrpe_1d_extra.safetensors"];

    private static string OwnFile(string name) => Path.Combine(AppContext.BaseDirectory, "golden-extra", name);

    [Test]
    public void OwnGoldenFilePasses([ValueSource(nameof(OwnFiles))] string file, [Values(DType.Float32, DType.Float64)] DType dt) =>
        AssertPasses(OwnFile(file), dt, Device.Cpu);

    [Test]
    public void OwnGoldenFilePassesOnCuda([ValueSource(nameof(OwnFiles))] string file, [Values(DType.Float32, DType.Float64)] DType dt) =>
        AssertPasses(OwnFile(file), dt, Gpu.Require());

    [Test]
    public void FlaCheckpointReproducesGoldenLogits()
    {
        using var s = DisposalScope.Begin();
        var model = Checkpoint.LoadCausalLM(Golden.FilePath("fla_checkpoint_tiny"));
        using var g = SafetensorsFile.Open(Golden.FilePath("lightnet_lm_tiny.safetensors"));
        var ids = g.Load("input_ids", DType.Int64);
        var logits = model.Forward(ids).Data;
        Reference.Close(logits, g.Load("logits", DType.Float64), 1e-4);
    }

    [Test]
    public void SavedCheckpointRoundTripsAndMatchesFlaLayout()
    {
        using var s = DisposalScope.Begin();
        var model = Checkpoint.LoadCausalLM(Golden.FilePath("fla_checkpoint_tiny"));
        var dir = Path.Combine(Path.GetTempPath(), "lightnet-ckpt-" + Guid.NewGuid().ToString("N"));
        try
        {
            Checkpoint.Save(dir, model, model.Config.ToJson());
            using var ours = SafetensorsFile.Open(Path.Combine(dir, "model.safetensors"));
            using var fla = SafetensorsFile.Open(Golden.FilePath("fla_checkpoint_tiny/model.safetensors"));
            Assert.That(ours.Names.Order(), Is.EqualTo(fla.Names.Order()));
            foreach (var n in fla.Names)
            {
                Assert.That(ours.Info(n).Shape, Is.EqualTo(fla.Info(n).Shape), n);
                Assert.That(ours.Info(n).FileDType, Is.EqualTo(fla.Info(n).FileDType), n);
            }
            var cfg = File.ReadAllText(Path.Combine(dir, "config.json"));
            Assert.That(cfg, Does.Contain("\"model_type\": \"lightnet\"").And.Contain("LightNetForCausalLM"));
            var back = Checkpoint.LoadCausalLM(dir);
            var ids = Tensor.FromArray(new long[] { 1, 5, 9, 300, 2, 7 }, [1, 6]);
            Assert.That(back.Forward(ids).Data.ToArray<float>(), Is.EqualTo(model.Forward(ids).Data.ToArray<float>()));
            var bytes1 = File.ReadAllBytes(Path.Combine(dir, "model.safetensors"));
            Checkpoint.Save(dir, back, back.Config.ToJson());
            Assert.That(File.ReadAllBytes(Path.Combine(dir, "model.safetensors")), Is.EqualTo(bytes1), "bytes depend only on weights and config");
        }
        finally { Directory.Delete(dir, true); }
    }
}
