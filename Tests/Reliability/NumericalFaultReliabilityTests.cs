using LightNet.Autograd;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;
using LightNet.Models.Training;

namespace LightNet.Tests.Reliability;

/// <summary>Steps with a non-finite loss or gradient are skipped and counted; anomaly mode names the op that made a NaN/∞.</summary>
[Category("Reliability")]
public class NumericalFaultReliabilityTests
{
    private static readonly ImageClassifierConfig TinyModel = new() { InChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 8, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 4, NumClasses = 4, TpeRpeDim = 8, IntermediateSize = 16 };
    private static readonly ArrayImageDataset Data = TrainingTests.Synthetic(32, 3);

    /// <summary>The classifier task, with a NaN loss at the chosen (0-based) steps, or a finite loss whose gradient is not finite.</summary>
    private sealed class FaultyTask(ITrainingTask inner, ISet<long> nanLoss, ISet<long> nanGrad) : ITrainingTask
    {
        public Module Model => inner.Model;
        public string ConfigJson => inner.ConfigJson;
        public int ItemsPerMicroBatch => inner.ItemsPerMicroBatch;
        public IReadOnlyDictionary<string, double> Evaluate(long step, bool final) => inner.Evaluate(step, final);
        public Variable Loss(long step, int micro)
        {
            var loss = inner.Loss(step, micro);
            if (nanLoss.Contains(step)) return loss * double.NaN;
            // sqrt(0·w) is 0 forward; its gradient is ∞·0 = NaN.
            if (nanGrad.Contains(step)) return loss + (Model.Parameters().First() * 0.0).Sqrt().Sum();
            return loss;
        }
    }

    private static RunOptions Options(string dir) => new()
    {
        OutDir = dir, Steps = 6, BatchSize = 8, CheckpointEvery = 2, LogEvery = 1, EmaDecay = 0.9, Seed = 11, MaxConsecutiveSkips = 3,
    };

    private static TrainResult Train(RunOptions o, long[] nanLoss, long[]? nanGrad = null) =>
        TrainingLoop.Run(o, new FaultyTask(new ClassifierTask(TinyModel, o, Data, Data), nanLoss.ToHashSet(), (nanGrad ?? []).ToHashSet()));

    private static List<string> Records(string dir) =>
        new MetricsLog(dir).Read().Select(r => string.Join(",", r.Where(kv => kv.Key != "items_per_s").OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value.GetRawText()))).ToList();

    [Test]
    public void NonFiniteLossIsSkippedSaidAndCounted() => TrainingTests.WithDirs((a, _) =>
    {
        var skippedAt = new List<long>();
        var r = TrainingLoop.Run(Options(a), new FaultyTask(new ClassifierTask(TinyModel, Options(a), Data, Data), new HashSet<long> { 2 }, new HashSet<long>()),
            p => { if (p.Skipped) skippedAt.Add(p.Step); });
        Assert.That(r.Finished, Is.True);
        Assert.That(r.SkippedSteps, Is.EqualTo(1));
        Assert.That(skippedAt, Is.EqualTo(new long[] { 3 }));
        var recs = new MetricsLog(a).Read().Where(x => x.ContainsKey("loss")).ToList();
        Assert.That(recs[1].ContainsKey("skipped_steps"), Is.False);
        Assert.That(recs[2]["loss"].GetString(), Is.EqualTo("NaN"));
        Assert.That(recs[2]["skipped_steps"].GetInt64(), Is.EqualTo(1));
        Assert.That(recs[5]["skipped_steps"].GetInt64(), Is.EqualTo(1));
        foreach (var p in TrainingLoopModel(a)) Assert.That(p.All(float.IsFinite), Is.True, "weights stay finite");
    });

    private static IEnumerable<float[]> TrainingLoopModel(string dir)
    {
        using var f = SafetensorsFile.Open(Path.Combine(dir, "model.safetensors"));
        foreach (var name in f.Names)
        {
            using var t = f.Load(name, DType.Float32, Device.Cpu);
            yield return t.ToArray<float>();
        }
    }

    [Test]
    public void NonFiniteGradientWithFiniteLossIsSkipped() => TrainingTests.WithDirs((a, _) =>
    {
        var r = Train(Options(a), [], [1, 4]);
        Assert.That(r.Finished, Is.True);
        Assert.That(r.SkippedSteps, Is.EqualTo(2));
    });

    [Test]
    public void SkippedStepsKeepResumeBitwise() => TrainingTests.WithDirs((a, b) =>
    {
        // Steps 3 and 4 (0-based 2, 3) are skipped; the interrupted run stops in the middle of that streak.
        Assert.That(Train(Options(a), [2, 3]).Finished, Is.True);
        Assert.That(Train(Options(b) with { StopAfter = 3 }, [2, 3]).Finished, Is.False);
        Assert.That(TrainingCheckpoint.ReadProgress(b).ConsecutiveSkips, Is.EqualTo(1));
        var r = Train(Options(b) with { Resume = true }, [2, 3]);
        Assert.That(r.Finished, Is.True);
        Assert.That(r.SkippedSteps, Is.EqualTo(2));
        foreach (var f in new[] { "model.safetensors", "model_ema.safetensors" })
            Assert.That(File.ReadAllBytes(Path.Combine(b, f)), Is.EqualTo(File.ReadAllBytes(Path.Combine(a, f))), f);
        Assert.That(Records(b), Is.EqualTo(Records(a)));
    });

    [Test]
    public void TooManyConsecutiveSkipsStopTheRun() => TrainingTests.WithDirs((a, b) =>
    {
        var e = Assert.Throws<InvalidOperationException>(() => Train(Options(a), [1, 2, 3]));
        Assert.That(e!.Message, Does.Contain("3 steps in a row"));
        // The streak is counted across a resume: one skip before the checkpoint at step 2, two after it...
        Assert.That(Train(Options(b) with { StopAfter = 2 }, [1, 2, 3]).Finished, Is.False);
        Assert.Throws<InvalidOperationException>(() => Train(Options(b) with { Resume = true }, [1, 2, 3]));
        // ...and interrupted streaks do not add up.
        Assert.That(Train(Options(a) with { OutDir = a + "-2" }, [0, 1, 3, 4]).SkippedSteps, Is.EqualTo(4));
        Directory.Delete(a + "-2", true);
    });

    [Test]
    public void AnomalyModeNamesTheForwardOp()
    {
        var x = new Variable(Tensor.FromArray(new double[] { -1, 2 }), requiresGrad: true, name: "x");
        using (AnomalyMode.Scope())
        {
            var e = Assert.Throws<NonFiniteValueException>(() => x.Log());
            Assert.That(e!.Op, Is.EqualTo("log"));
            Assert.That(e.Forward, Is.True);
            Assert.That(e.Message, Does.Contain("'log'").And.Contain("x [2]"));
        }
        Assert.That(AnomalyMode.Enabled, Is.False);
        // Off: the NaN goes through, as before.
        using var y = x.Log();
        Assert.That(double.IsNaN(y.Data.ToArray<double>()[0]), Is.True);
    }

    [Test]
    public void AnomalyModeNamesTheBackwardRule()
    {
        var x = new Variable(Tensor.FromArray(new double[] { 0, 1 }), requiresGrad: true, name: "x");
        using (AnomalyMode.Scope())
        {
            var loss = x.Sqrt().Sum();
            var e = Assert.Throws<NonFiniteValueException>(() => loss.Backward());
            Assert.That(e!.Op, Is.EqualTo("sqrt"));
            Assert.That(e.Forward, Is.False);
            Assert.That(e.Message, Does.Contain("backward rule of op 'sqrt'"));
        }
    }

    [Test]
    public void AnomalyModeStopsTrainingAtTheFirstNonFiniteOp() => TrainingTests.WithDirs((a, _) =>
    {
        using (AnomalyMode.Scope())
        {
            var e = Assert.Throws<NonFiniteValueException>(() => Train(Options(a), [2]));
            Assert.That(e!.Op, Is.EqualTo("mul"));
        }
    });
}
