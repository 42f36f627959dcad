using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Tests;

public class TrainingTests
{
    private static ArrayImageDataset Synthetic(int n, ulong seed)
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

    private static ClassifyOptions Options(string dir) => new()
    {
        Model = new ImageClassifierConfig { InChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 16, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 4, NumClasses = 4, TpeRpeDim = 8, IntermediateSize = 32 },
        OutDir = dir,
        Steps = 8,
        BatchSize = 16,
        CheckpointEvery = 3,
        LogEvery = 1,
        Seed = 5,
    };

    [Test]
    public void InterruptedAndResumedRunIsBitwiseIdentical()
    {
        var data = Synthetic(100, 1);
        var a = Path.Combine(Path.GetTempPath(), "lightnet-train-a-" + Guid.NewGuid().ToString("N"));
        var b = Path.Combine(Path.GetTempPath(), "lightnet-train-b-" + Guid.NewGuid().ToString("N"));
        try
        {
            var ra = ClassifierTraining.Run(Options(a), data, data);
            Assert.That(ra.Finished, Is.True);
            var rb1 = ClassifierTraining.Run(Options(b) with { StopAfter = 5 }, data, data);
            Assert.That(rb1.Finished, Is.False);
            Assert.That(rb1.StepsDone, Is.EqualTo(5));
            Assert.Throws<InvalidOperationException>(() => ClassifierTraining.Run(Options(b), data, data), "needs --resume");
            var rb2 = ClassifierTraining.Run(Options(b) with { Resume = true }, data, data);
            Assert.That(rb2.Finished, Is.True);
            Assert.That(File.ReadAllBytes(Path.Combine(b, "model.safetensors")), Is.EqualTo(File.ReadAllBytes(Path.Combine(a, "model.safetensors"))));
            Assert.That(rb2.TestAccuracy, Is.EqualTo(ra.TestAccuracy));
            var steps = new MetricsLog(b).Read().Where(r => r.ContainsKey("loss")).Select(r => r["step"].GetInt64()).ToList();
            Assert.That(steps, Is.EqualTo(Enumerable.Range(1, 8).Select(i => (long)i)));
        }
        finally
        {
            foreach (var d in new[] { a, b }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
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
