using LightNet.Autograd;
using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;

namespace LightNet.Models.Training;

/// <summary>
/// Video classification on Moving Fashion-MNIST as a <see cref="ITrainingTask"/>: <see cref="LightNetForVideoClassification"/>
/// on epoch-shuffled batches of generated train clips (<see cref="EpochSampler"/>; a clip is a function of (data seed,
/// split, index), so resume is bitwise), test accuracy on the first <see cref="EvalClips"/> test clips as the evaluation.
/// </summary>
public sealed class VideoTask : ITrainingTask
{
    private readonly LightNetForVideoClassification _model;
    private readonly MovingFashionMnist _train;
    private readonly MovingFashionMnist? _test;
    private readonly EpochSampler _sampler;
    private readonly RunOptions _run;

    /// <summary>
    /// Builds the classifier on <paramref name="run"/>'s device; <paramref name="evalClips"/> bounds the test clips scored
    /// (the first ones of the test split). Throws <see cref="ArgumentException"/> when the clips do not match the model.
    /// </summary>
    public VideoTask(VideoClassifierConfig config, RunOptions run, MovingFashionMnist train, MovingFashionMnist? test, int evalClips = 1000)
    {
        foreach (var d in test == null ? [train] : new[] { train, test })
            if (d.Options.Frames != config.NumFrames || d.Options.Size != config.ImageHeight || d.Options.Size != config.ImageWidth || config.InChannels != 1 || d.Classes != config.NumClasses)
                throw new ArgumentException($"train video: clips of {d.Options.Frames}×{d.Options.Size}×{d.Options.Size} with {d.Classes} classes do not match the model's " +
                    $"{config.InChannels}×{config.NumFrames}×{config.ImageHeight}×{config.ImageWidth} with {config.NumClasses}");
        if (evalClips < 1) throw new ArgumentOutOfRangeException(nameof(evalClips), $"train video: evaluation clips must be at least 1, got {evalClips}");
        Config = config;
        _run = run;
        _train = train;
        _test = test;
        EvalClips = test == null ? 0 : Math.Min(evalClips, test.Count);
        _model = new LightNetForVideoClassification(config, new Generator(run.Seed));
        _model.To(run.Device);
        _sampler = new EpochSampler(train.Count, run.BatchSize, run.Seed);
    }

    /// <summary>Configuration of the model being trained.</summary>
    public VideoClassifierConfig Config { get; }
    /// <summary>Test clips scored by <see cref="Evaluate"/> (the first ones of the test split).</summary>
    public int EvalClips { get; }
    /// <summary>The model being trained.</summary>
    public LightNetForVideoClassification Classifier => _model;
    /// <inheritdoc/>
    public Module Model => _model;
    /// <inheritdoc/>
    public string ConfigJson => Config.ToJson();
    /// <inheritdoc/>
    public int ItemsPerMicroBatch => _run.LocalBatchSize;

    /// <inheritdoc/>
    public Variable Loss(long step, int micro)
    {
        var (x, y) = _train.Batch(_run.Shard(_sampler.ForStep(step * _run.GradAccumulation + micro)));
        return _model.Loss(new Variable(x.To(_run.Device)), y.To(_run.Device));
    }

    /// <summary><c>test_accuracy</c> over the first <see cref="EvalClips"/> test clips, or nothing without a test set.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(long step, bool final) =>
        _test == null ? new Dictionary<string, double>()
            : new Dictionary<string, double> { ["test_accuracy"] = VideoTraining.Evaluate(_model, _test, EvalClips, Math.Max(_run.BatchSize, 32), _run.Device).Accuracy };
}

/// <summary>Evaluation and loading of trained video classifiers.</summary>
public static class VideoTraining
{
    /// <summary>Top-1 accuracy and the predictions on the first <paramref name="clips"/> clips of <paramref name="data"/>.</summary>
    public static (double Accuracy, long[] Predicted, long[] Labels) Evaluate(LightNetForVideoClassification model, MovingFashionMnist data, int clips, int batchSize, Device device)
    {
        if (clips < 1 || clips > data.Count) throw new ArgumentOutOfRangeException(nameof(clips), $"video evaluation: clips must be in 1..{data.Count}, got {clips}");
        var pred = new long[clips];
        var labels = new long[clips];
        using var ng = NoGrad.Scope();
        for (int s = 0; s < clips; s += batchSize)
        {
            using var scope = DisposalScope.Begin();
            var idx = Enumerable.Range(s, Math.Min(batchSize, clips - s)).ToArray();
            var (x, y) = data.Batch(idx);
            model.Forward(new Variable(x.To(device))).Data.ArgMax(1).To(Device.Cpu).ToArray<long>().CopyTo(pred, s);
            y.ToArray<long>().CopyTo(labels, s);
        }
        return (ClassifierTraining.Accuracy(pred, labels), pred, labels);
    }

    /// <summary>Loads a video run directory (<c>config.json</c> and <c>model.safetensors</c>) onto a device.</summary>
    public static LightNetForVideoClassification LoadRun(string dir, Device device)
    {
        var cfg = VideoClassifierConfig.FromJson(Checkpoint.ReadConfig(dir), Path.Combine(dir, "config.json"));
        var model = new LightNetForVideoClassification(cfg, new Generator(0));
        Checkpoint.LoadWeights(dir, model);
        model.To(device);
        return model;
    }
}
