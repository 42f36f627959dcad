using System.Diagnostics;
using LightNet.Autograd;
using LightNet.Models.LightNet;
using LightNet.Models.Optim;

namespace LightNet.Models.Training;

/// <summary>Options of an image-classification run.</summary>
public sealed record ClassifyOptions
{
    public required ImageClassifierConfig Model { get; init; }
    public required string OutDir { get; init; }
    /// <summary>Planned length (sets the schedule).</summary>
    public long Steps { get; init; } = 1000;
    /// <summary>Stop after this many steps as if interrupted, leaving a resumable checkpoint.</summary>
    public long? StopAfter { get; init; }
    public int BatchSize { get; init; } = 64;
    public double Lr { get; init; } = 2e-3;
    public double WeightDecay { get; init; } = 0.05;
    public double ClipNorm { get; init; } = 1.0;
    public ulong Seed { get; init; } = 0;
    public bool Resume { get; init; }
    public int CheckpointEvery { get; init; } = 200;
    public int LogEvery { get; init; } = 10;
    public Device Device { get; init; } = Device.Cpu;
}

/// <summary>What a progress callback sees.</summary>
public readonly record struct TrainProgressInfo(long Step, long Total, double Loss, double ItemsPerSecond, TimeSpan Eta);

/// <summary>Outcome of a run.</summary>
public sealed record TrainResult(long StepsDone, bool Finished, double LastLoss, double? TestAccuracy);

/// <summary>
/// Trains <see cref="LightNetForImageClassification"/> with AdamW, warm-up + cosine schedule and gradient
/// clipping; writes <c>config.json</c>, <c>metrics.jsonl</c>, periodic atomic checkpoints and, at the end,
/// <c>model.safetensors</c>. <c>Resume</c> continues from the checkpoint and gives bitwise the same weights
/// as an uninterrupted run (deterministic kernels, batches a function of (seed, step)).
/// </summary>
public static class ClassifierTraining
{
    public static TrainResult Run(ClassifyOptions o, IImageDataset train, IImageDataset? test, Action<TrainProgressInfo>? onProgress = null)
    {
        Directory.CreateDirectory(o.OutDir);
        var model = new LightNetForImageClassification(o.Model, new Generator(o.Seed));
        model.To(o.Device);
        var opt = new AdamW(model.Parameters(), o.Lr, weightDecay: o.WeightDecay);
        var metrics = new MetricsLog(o.OutDir);
        long step = 0;
        if (TrainingCheckpoint.Exists(o.OutDir))
        {
            if (!o.Resume) throw new InvalidOperationException($"train: {o.OutDir} already holds a checkpoint; pass --resume to continue it or choose another --out");
            var p = TrainingCheckpoint.Load(o.OutDir, model, opt);
            if (p.TotalSteps != o.Steps || p.DataSeed != o.Seed)
                throw new InvalidOperationException($"train: the checkpoint was made for --steps {p.TotalSteps} --seed {p.DataSeed}; resume with the same values");
            step = p.Step;
            metrics.TruncateAfter(step);
        }
        File.WriteAllText(Path.Combine(o.OutDir, "config.json"), o.Model.ToJson());
        var sampler = new EpochSampler(train.Count, o.BatchSize, o.Seed);
        long warmup = Math.Min(200, Math.Max(1, o.Steps / 10));
        long stopAt = Math.Min(o.Steps, o.StopAfter ?? o.Steps);
        var sw = Stopwatch.StartNew();
        long startStep = step;
        double lastLoss = double.NaN;
        while (step < stopAt)
        {
            opt.Lr = Schedules.WarmupCosine(step, warmup, o.Steps, o.Lr, o.Lr * 0.01);
            using (var scope = DisposalScope.Begin())
            {
                var (x, y) = train.Batch(sampler.ForStep(step));
                var xd = x.To(o.Device); var yd = y.To(o.Device);
                var loss = model.Loss(new Variable(xd), yd);
                loss.Backward();
                opt.ClipGradNorm(o.ClipNorm);
                opt.Step();
                opt.ZeroGrad();
                lastLoss = loss.Data.Item();
            }
            step++;
            double rate = (step - startStep) * o.BatchSize / Math.Max(1e-9, sw.Elapsed.TotalSeconds);
            if (step % o.LogEvery == 0 || step == stopAt)
                metrics.Write(new Dictionary<string, object> { ["step"] = step, ["loss"] = lastLoss, ["lr"] = opt.Lr, ["images_per_s"] = Math.Round(rate, 1) });
            onProgress?.Invoke(new TrainProgressInfo(step, o.Steps, lastLoss, rate, TimeSpan.FromSeconds((stopAt - step) * o.BatchSize / Math.Max(1e-9, rate))));
            if (step % o.CheckpointEvery == 0 || step == stopAt)
                TrainingCheckpoint.Save(o.OutDir, model, opt, new TrainingProgress(step, o.Steps, o.Seed));
        }
        bool finished = step >= o.Steps;
        double? acc = null;
        if (finished)
        {
            Checkpoint.Save(o.OutDir, model, File.ReadAllText(Path.Combine(o.OutDir, "config.json")));
            if (test != null)
            {
                acc = Evaluate(model, test, Math.Max(o.BatchSize, 256), o.Device);
                metrics.Write(new Dictionary<string, object> { ["step"] = step, ["test_accuracy"] = acc.Value });
            }
        }
        return new TrainResult(step, finished, lastLoss, acc);
    }

    /// <summary>Top-1 accuracy over a data set.</summary>
    public static double Evaluate(LightNetForImageClassification model, IImageDataset data, int batchSize, Device device)
    {
        long correct = 0;
        using var ng = NoGrad.Scope();
        for (int s = 0; s < data.Count; s += batchSize)
        {
            using var scope = DisposalScope.Begin();
            var idx = Enumerable.Range(s, Math.Min(batchSize, data.Count - s)).ToArray();
            var (x, y) = data.Batch(idx);
            var pred = model.Forward(new Variable(x.To(device))).Data.ArgMax(1).ToArray<long>();
            var lab = y.ToArray<long>();
            for (int i = 0; i < lab.Length; i++) if (pred[i] == lab[i]) correct++;
        }
        return (double)correct / data.Count;
    }
}
