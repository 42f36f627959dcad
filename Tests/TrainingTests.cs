using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Tests;

public class TrainingTests
{
    internal static ArrayImageDataset Synthetic(int n, ulong seed)
    {
        var g = new Generator(seed);
        using var x = Tensor.Rand([n, 1, 8, 8], g);
        var px = x.ToArray<float>();
        var labels = new long[n];
        for (int i = 0; i < n; i++)
        {
            // Label: which quadrant is brightest (learnable).
            double best = double.MinValue; int arg = 0;
            for (int q = 0; q < 4; q++)
            {
                double s = 0;
                for (int r = 0; r < 4; r++) for (int c = 0; c < 4; c++) s += px[i * 64 + ((q / 2) * 4 + r) * 8 + (q % 2) * 4 + c];
                if (s > best) { best = s; arg = q; }
            }
            labels[i] = arg;
        }
        return new ArrayImageDataset(px, labels, 1, 8, 8, 4);
    }

    private static readonly ImageClassifierConfig TinyModel = new() { InChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 16, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 4, NumClasses = 4, TpeRpeDim = 8, IntermediateSize = 32 };

    private static RunOptions Options(string dir) => new()
    {
        OutDir = dir,
        Steps = 8,
        BatchSize = 16,
        CheckpointEvery = 3,
        LogEvery = 1,
        Seed = 5,
    };

    private static TrainResult Train(RunOptions o, ArrayImageDataset data) => TrainingLoop.Run(o, new ClassifierTask(TinyModel, o, data, data));

    internal static void WithDirs(Action<string, string> body)
    {
        var a = Path.Combine(Path.GetTempPath(), "lightnet-train-a-" + Guid.NewGuid().ToString("N"));
        var b = Path.Combine(Path.GetTempPath(), "lightnet-train-b-" + Guid.NewGuid().ToString("N"));
        try { body(a, b); }
        finally
        {
            foreach (var d in new[] { a, b }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }

    [TestCase(null)]
    [TestCase(0.9)]
    public void InterruptedAndResumedRunIsBitwiseIdentical(double? ema) => WithDirs((a, b) =>
    {
        var data = Synthetic(100, 1);
        var ra = Train(Options(a) with { EmaDecay = ema }, data);
        Assert.That(ra.Finished, Is.True);
        var rb1 = Train(Options(b) with { StopAfter = 5, EmaDecay = ema }, data);
        Assert.That(rb1.Finished, Is.False);
        Assert.That(rb1.StepsDone, Is.EqualTo(5));
        Assert.Throws<InvalidOperationException>(() => Train(Options(b) with { EmaDecay = ema }, data), "needs --resume");
        var rb2 = Train(Options(b) with { Resume = true, EmaDecay = ema }, data);
        Assert.That(rb2.Finished, Is.True);
        Assert.That(File.ReadAllBytes(Path.Combine(b, "model.safetensors")), Is.EqualTo(File.ReadAllBytes(Path.Combine(a, "model.safetensors"))));
        Assert.That(File.Exists(Path.Combine(b, "model_ema.safetensors")), Is.EqualTo(ema != null));
        if (ema != null)
            Assert.That(File.ReadAllBytes(Path.Combine(b, "model_ema.safetensors")), Is.EqualTo(File.ReadAllBytes(Path.Combine(a, "model_ema.safetensors"))));
        Assert.That(rb2.Metrics["test_accuracy"], Is.EqualTo(ra.Metrics["test_accuracy"]));
        var steps = new MetricsLog(b).Read().Where(r => r.ContainsKey("loss")).Select(r => r["step"].GetInt64()).ToList();
        Assert.That(steps, Is.EqualTo(Enumerable.Range(1, 8).Select(i => (long)i)));
    });

    /// <summary>
    /// A checkpoint written before the EMA's update count was saved (no <c>ema_updates</c> metadata) resumes with
    /// the count taken from its step, which is what the count was: the resumed run still matches bit for bit.
    /// </summary>
    [Test]
    public void CheckpointWithoutEmaCountResumesFromItsStep() => WithDirs((a, b) =>
    {
        var data = Synthetic(100, 1);
        Train(Options(a) with { EmaDecay = 0.9 }, data);
        Train(Options(b) with { StopAfter = 5, EmaDecay = 0.9 }, data);
        var emaPath = Path.Combine(TrainingCheckpoint.PathIn(b), "ema.safetensors");
        Dictionary<string, Tensor> shadow;
        using (var f = SafetensorsFile.Open(emaPath))
        {
            Assert.That(f.Metadata["ema_updates"], Is.EqualTo("5"));
            shadow = f.LoadAll().ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        SafetensorsFile.Save(emaPath, shadow, new Dictionary<string, string> { ["format"] = "pt" });
        foreach (var t in shadow.Values) t.Dispose();
        // An old checkpoint also has no manifest (and no "Manifest" field in progress.json).
        File.Delete(Path.Combine(TrainingCheckpoint.PathIn(b), "manifest.json"));
        var progressPath = Path.Combine(TrainingCheckpoint.PathIn(b), "progress.json");
        var progress = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(progressPath))!.AsObject();
        progress.Remove("Manifest");
        File.WriteAllText(progressPath, progress.ToJsonString());
        Train(Options(b) with { Resume = true, EmaDecay = 0.9 }, data);
        Assert.That(File.ReadAllBytes(Path.Combine(b, "model_ema.safetensors")), Is.EqualTo(File.ReadAllBytes(Path.Combine(a, "model_ema.safetensors"))));
    });

    [Test]
    public void GradientAccumulationMatchesTheLargerBatch() => WithDirs((a, b) =>
    {
        // Two micro-batches of 8 are the two halves of the batch of 16 the same step would draw.
        var data = Synthetic(100, 2);
        Train(Options(a) with { Steps = 3, BatchSize = 16 }, data);
        Train(Options(b) with { Steps = 3, BatchSize = 8, GradAccumulation = 2 }, data);
        using var fa = SafetensorsFile.Open(Path.Combine(a, "model.safetensors"));
        using var fb = SafetensorsFile.Open(Path.Combine(b, "model.safetensors"));
        foreach (var name in fa.Names)
        {
            using var ta = fa.Load(name);
            using var tb = fb.Load(name);
            Assert.That(tb.ToArray<float>(), Is.EqualTo(ta.ToArray<float>()).Within(2e-5), name);
        }
    });

    [Test]
    public void BadRunOptionsNameTheFlag()
    {
        var data = Synthetic(20, 3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Train(Options("unused") with { GradAccumulation = 0 }, data));
        Assert.That(e!.Message, Does.Contain("--grad-accum"));
    }

    [Test]
    public void SamplerIsAPermutationPerEpoch()
    {
        var s = new EpochSampler(10, 3, 7);
        var epoch0 = Enumerable.Range(0, 3).SelectMany(i => s.ForStep(i)).ToArray();
        Assert.That(epoch0.Distinct().Count(), Is.EqualTo(9));
        Assert.That(new EpochSampler(10, 3, 7).ForStep(4), Is.EqualTo(s.ForStep(4)));
        Assert.That(s.ForStep(3), Is.Not.EqualTo(s.ForStep(0)));
    }
}
