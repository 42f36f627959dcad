using System.Text.Json;
using System.Text.Json.Nodes;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Tests.Reliability;

/// <summary>A checkpoint's files are bound by checkpoint/manifest.json and verified on resume.</summary>
[Category("Reliability")]
public class CheckpointManifestReliabilityTests
{
    private static readonly ImageClassifierConfig TinyModel = new() { InChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 8, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 4, NumClasses = 4, TpeRpeDim = 8, IntermediateSize = 16 };
    private static readonly ArrayImageDataset Data = TrainingTests.Synthetic(32, 3);

    private static RunOptions Options(string dir) => new()
    {
        OutDir = dir, Steps = 4, BatchSize = 8, CheckpointEvery = 2, LogEvery = 1, EmaDecay = 0.9, Seed = 11,
        TrainingConfig = new Dictionary<string, object?> { ["command"] = "train classify", ["lr"] = 0.002 },
    };

    private static TrainResult Train(RunOptions o) => TrainingLoop.Run(o, new ClassifierTask(TinyModel, o, Data, Data));

    /// <summary>A run stopped after its first checkpoint (step 2 of 4).</summary>
    private static string Stopped(string dir)
    {
        Assert.That(Train(Options(dir) with { StopAfter = 2 }).Finished, Is.False);
        return TrainingCheckpoint.PathIn(dir);
    }

    private static TrainResult Resume(string dir) => Train(Options(dir) with { Resume = true, TrainingConfig = null });

    private static void AssertNamedError(string dir, string file)
    {
        var e = Assert.Throws<InvalidDataException>(() => Resume(dir));
        Assert.That(e!.Message, Does.Contain(file));
    }

    [Test]
    public void ManifestListsEveryFileWithItsHashAndTheTrainingConfiguration() => TrainingTests.WithDirs((a, _) =>
    {
        var ck = Stopped(a);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ck, "manifest.json")));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("step").GetInt64(), Is.EqualTo(2));
        var files = root.GetProperty("files").EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(files, Is.EquivalentTo(new[] { "model.safetensors", "optimizer.safetensors", "ema.safetensors", "progress.json" }));
        Assert.That(root.GetProperty("files").GetProperty("model.safetensors").GetProperty("sha256").GetString(),
            Is.EqualTo(CheckpointManifest.Sha256Of(Path.Combine(ck, "model.safetensors"))));
        Assert.That(root.GetProperty("training_config_sha256").GetString(), Is.EqualTo(CheckpointManifest.Sha256Of(TrainingConfigFile.PathIn(a))));
        Assert.That(root.GetProperty("training_config").GetString(), Is.EqualTo(File.ReadAllText(TrainingConfigFile.PathIn(a))));
        Assert.That(Resume(a).Finished, Is.True);
    });

    [TestCase("model.safetensors")]
    [TestCase("optimizer.safetensors")]
    [TestCase("ema.safetensors")]
    [TestCase("progress.json")]
    public void FlippedByteInAnyCheckpointFileIsANamedError(string file) => TrainingTests.WithDirs((a, _) =>
    {
        var path = Path.Combine(Stopped(a), file);
        var bytes = File.ReadAllBytes(path);
        // A byte near the end: a weight (or the last byte of progress.json's JSON), not the header.
        bytes[bytes.Length - 3] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        AssertNamedError(a, file);
    });

    [Test]
    public void ProgressClaimingAnotherStepIsAnError() => TrainingTests.WithDirs((a, _) =>
    {
        var path = Path.Combine(Stopped(a), "progress.json");
        var node = JsonNode.Parse(File.ReadAllText(path))!;
        node["Step"] = 999;
        File.WriteAllText(path, node.ToJsonString());
        AssertNamedError(a, "progress.json");
        Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.ReadProgress(a));
    });

    [Test]
    public void MissingOrExtraFileIsANamedError() => TrainingTests.WithDirs((a, b) =>
    {
        File.Delete(Path.Combine(Stopped(a), "optimizer.safetensors"));
        AssertNamedError(a, "optimizer.safetensors");
        File.WriteAllText(Path.Combine(Stopped(b), "notes.txt"), "x");
        AssertNamedError(b, "notes.txt");
    });

    [Test]
    public void ChangedTrainingConfigurationIsANamedError() => TrainingTests.WithDirs((a, _) =>
    {
        Stopped(a);
        File.AppendAllText(TrainingConfigFile.PathIn(a), " ");
        AssertNamedError(a, TrainingConfigFile.FileName);
    });

    /// <summary>Decision: a checkpoint whose progress.json says it has a manifest and has none is refused.</summary>
    [Test]
    public void DeletedManifestOfANewCheckpointIsAnError() => TrainingTests.WithDirs((a, _) =>
    {
        File.Delete(Path.Combine(Stopped(a), "manifest.json"));
        AssertNamedError(a, "manifest.json");
    });

    [Test]
    public void MalformedManifestIsANamedError() => TrainingTests.WithDirs((a, _) =>
    {
        File.WriteAllText(Path.Combine(Stopped(a), "manifest.json"), "{\"format\": 1, \"step\": 2");
        AssertNamedError(a, "manifest.json");
    });

    /// <summary>A checkpoint written before manifests existed (none, and a progress.json without the field) loads and resumes bitwise.</summary>
    [Test]
    public void OldCheckpointWithoutManifestLoads() => TrainingTests.WithDirs((a, b) =>
    {
        Assert.That(Train(Options(a)).Finished, Is.True);
        var ck = Stopped(b);
        File.Delete(Path.Combine(ck, "manifest.json"));
        var path = Path.Combine(ck, "progress.json");
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        node.Remove("Manifest");
        File.WriteAllText(path, node.ToJsonString());
        Assert.That(Resume(b).Finished, Is.True);
        Assert.That(File.ReadAllBytes(Path.Combine(b, "model.safetensors")), Is.EqualTo(File.ReadAllBytes(Path.Combine(a, "model.safetensors"))));
    });

    [Test]
    public void FinishedRunStaysFinished() => TrainingTests.WithDirs((a, _) =>
    {
        Assert.That(Train(Options(a)).Finished, Is.True);
        var model = File.ReadAllBytes(Path.Combine(a, "model.safetensors"));
        var r = Resume(a);
        Assert.That(r.FinishedBefore, Is.True);
        Assert.That(TrainingCheckpoint.IsFinished(a, ema: true), Is.True);
        Assert.That(File.ReadAllBytes(Path.Combine(a, "model.safetensors")), Is.EqualTo(model));
    });
}
