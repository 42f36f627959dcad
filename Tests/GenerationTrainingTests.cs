using LightNet.Autograd;
using LightNet.Models.Diffusion;
using LightNet.Models.Evaluation;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Tests;

public class GenerationTrainingTests
{
    private static readonly DiTConfig TinyDiT = new()
    {
        InChannels = 1,
        ImageHeight = 8,
        ImageWidth = 8,
        PatchSize = 2,
        HiddenSize = 16,
        NumHiddenLayers = 1,
        NumHeads = 2,
        GateLowRankDim = 4,
        NumClasses = 4,
        TpeRpeDim = 8,
        IntermediateSize = 32,
    };

    private static RunOptions Options(string dir) => new() { OutDir = dir, Steps = 6, BatchSize = 8, CheckpointEvery = 2, LogEvery = 1, Seed = 3, EmaDecay = 0.9, Lr = 3e-3 };

    private static TrainResult Train(RunOptions o, ArrayImageDataset data) => TrainingLoop.Run(o, new GenerationTask(TinyDiT, o, data, data));

    [Test]
    public void InterruptedAndResumedRunIsBitwiseIdentical() => TrainingTests.WithDirs((a, b) =>
    {
        var data = TrainingTests.Synthetic(40, 1);
        var ra = Train(Options(a), data);
        Assert.That(ra.Finished, Is.True);
        Assert.That(Train(Options(b) with { StopAfter = 3 }, data).Finished, Is.False);
        var rb = Train(Options(b) with { Resume = true }, data);
        Assert.That(rb.Finished, Is.True);
        foreach (var f in new[] { "model.safetensors", ImageSampling.EmaFile })
            Assert.That(File.ReadAllBytes(Path.Combine(b, f)), Is.EqualTo(File.ReadAllBytes(Path.Combine(a, f))), f);
        Assert.That(rb.Metrics["val_loss"], Is.EqualTo(ra.Metrics["val_loss"]));
        Assert.That(double.IsFinite(ra.Metrics["val_loss"]), Is.True);
        // The run directory loads back and samples deterministically.
        var m = ImageSampling.LoadRun(a, Device.Cpu);
        var s = ImageSampling.Sampler(m, 4, 2.0);
        var x1 = ImageSampling.Sample(m, Device.Cpu, s, ImageSampling.ClassRows(4, 2), 1, chunk: 3);
        Assert.That(x1, Has.Length.EqualTo(8 * 64));
        Assert.That(ImageSampling.Sample(m, Device.Cpu, s, ImageSampling.ClassRows(4, 2), 1, chunk: 3), Is.EqualTo(x1));
        // Another split only changes the model's float rounding (matrix blocking), not the noise.
        Assert.That(ImageSampling.Sample(m, Device.Cpu, s, ImageSampling.ClassRows(4, 2), 1, chunk: 8), Is.EqualTo(x1).Within(1e-3));
    });

    [Test]
    public void ConditioningStartsAtUnitScale()
    {
        var m = new LightNetDiT(TinyDiT with { HiddenSize = 64 }, new Generator(1));
        GenerationTask.UnitScaleConditioning(m, new Generator(2));
        var y = m.YEmbed.Weight.Data.ToArray<float>();
        double std = Math.Sqrt(y.Average(v => (double)v * v));
        Assert.That(std, Is.EqualTo(1).Within(0.1));
        Assert.That(m.Final.Linear.Weight.Data.ToArray<float>().All(v => v == 0), Is.True, "adaLN-Zero output layer untouched");
    }

    [Test]
    public void BadSettingsNameTheProblem()
    {
        var data = TrainingTests.Synthetic(40, 1);
        var o = Options("unused");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new GenerationTask(TinyDiT, o, data, data, labelDrop: 1.5));
        Assert.That(e!.Message, Does.Contain("--label-drop"));
        Assert.Throws<ArgumentException>(() => new GenerationTask(TinyDiT with { NumClasses = 10 }, o, data, data));
        Assert.That(Cli.Program.Main(["train", "generate", "--patch", "5", "--out", "unused"]), Is.EqualTo(2));
        Assert.That(Cli.Program.Main(["sample", "image", "--steps", "0", "--run", "unused"]), Is.EqualTo(2));
        Assert.That(Cli.Program.Main(["sample", "image", "--run", Path.Combine(Path.GetTempPath(), "lightnet-no-such-run")]), Is.EqualTo(2));
        Assert.That(Cli.Program.Main(["sample", "video"]), Is.EqualTo(2));
        Assert.That(Cli.Program.Main(["eval", "generate", "--bogus", "1"]), Is.EqualTo(2));
    }

    [Test]
    public void ClassifierFeaturesFeedItsHead()
    {
        var cfg = new ImageClassifierConfig { InChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 16, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 4, NumClasses = 4, TpeRpeDim = 8, IntermediateSize = 32 };
        var model = new LightNetForImageClassification(cfg, new Generator(1));
        var data = TrainingTests.Synthetic(10, 2);
        var (x, _) = data.Batch(Enumerable.Range(0, 10).ToArray());
        using var ng = NoGrad.Scope();
        var logits = model.Forward(new Variable(x)).Data.ToArray<float>();
        var (feats, pred, labels) = ClassifierTraining.FeaturesAndPredictions(model, data, 4, Device.Cpu);
        Assert.That(feats, Has.Length.EqualTo(10 * 16));
        Assert.That(labels, Is.EqualTo(data.Batch(Enumerable.Range(0, 10).ToArray()).Labels.ToArray<long>()));
        for (int i = 0; i < 10; i++)
            Assert.That(pred[i], Is.EqualTo(Array.IndexOf(logits, logits.Skip(i * 4).Take(4).Max(), i * 4) - i * 4));
    }

    [Test]
    public void GenerationScoresAreFiniteAndOrdered()
    {
        var data = TrainingTests.Synthetic(60, 4);
        var dit = new LightNetDiT(TinyDiT, new Generator(2), zeroInit: false);
        var cfg = new ImageClassifierConfig { InChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 8, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 4, NumClasses = 4, TpeRpeDim = 8, IntermediateSize = 16 };
        var clf = new LightNetForImageClassification(cfg, new Generator(1));
        var s = GenerationEvaluation.Run(dit, clf, data, data, 30, ImageSampling.Sampler(dit, 3, 1.5), 0, Device.Cpu, batch: 16);
        Assert.That(s.Samples, Is.EqualTo(30));
        Assert.That(s.SampleAccuracy, Is.InRange(0.0, 1.0));
        foreach (var v in new[] { s.FdSamples, s.FdTrain, s.FdNoise }) Assert.That(double.IsFinite(v) && v >= -1e-9, Is.True);
        Assert.That(s.FdTrain, Is.LessThan(s.FdNoise), "real images are nearer to real images than noise is");
        Assert.Throws<ArgumentOutOfRangeException>(() => GenerationEvaluation.Run(dit, clf, data, data, 61, ImageSampling.Sampler(dit, 3, 1.5), 0, Device.Cpu));
    }
}
