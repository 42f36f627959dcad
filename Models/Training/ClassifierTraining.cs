using LightNet.Autograd;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;

namespace LightNet.Models.Training;

/// <summary>
/// Image classification as a <see cref="ITrainingTask"/>: <see cref="LightNetForImageClassification"/> on
/// epoch-shuffled batches (<see cref="EpochSampler"/>), test accuracy as the final evaluation.
/// </summary>
public sealed class ClassifierTask : ITrainingTask
{
    private readonly LightNetForImageClassification _model;
    private readonly IImageDataset _train;
    private readonly IImageDataset? _test;
    private readonly EpochSampler _sampler;
    private readonly RunOptions _run;

    /// <summary>Builds the classifier on <paramref name="run"/>'s device; the optional <paramref name="test"/> set is the one the evaluation scores.</summary>
    public ClassifierTask(ImageClassifierConfig config, RunOptions run, IImageDataset train, IImageDataset? test)
    {
        Config = config;
        _run = run;
        _train = train;
        _test = test;
        _model = new LightNetForImageClassification(config, new Generator(run.Seed));
        _model.To(run.Device);
        _sampler = new EpochSampler(train.Count, run.BatchSize, run.Seed);
    }

    /// <summary>Configuration of the model being trained.</summary>
    public ImageClassifierConfig Config { get; }
    /// <inheritdoc/>
    public Module Model => _model;
    /// <inheritdoc/>
    public string ConfigJson => Config.ToJson();
    /// <inheritdoc/>
    public string LossName => LossNames.Classifier;
    /// <inheritdoc/>
    public int ItemsPerMicroBatch => _run.LocalBatchSize;

    /// <inheritdoc/>
    public Variable Loss(long step, int micro)
    {
        var (x, y) = _train.Batch(_run.Shard(_sampler.ForStep(step * _run.GradAccumulation + micro)));
        return _model.Loss(new Variable(x.To(_run.Device)), y.To(_run.Device));
    }

    /// <summary><c>test_accuracy</c> over the whole test set, or nothing without one.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(long step, bool final) =>
        _test == null ? new Dictionary<string, double>()
            : new Dictionary<string, double> { ["test_accuracy"] = ClassifierTraining.Evaluate(_model, _test, Math.Max(_run.BatchSize, 256), _run.Device) };
}

/// <summary>Evaluation of a trained classifier.</summary>
public static class ClassifierTraining
{
    /// <summary>Top-1 accuracy over a data set.</summary>
    public static double Evaluate(LightNetForImageClassification model, IImageDataset data, int batchSize, Device device)
    {
        var (_, pred, labels) = FeaturesAndPredictions(model, data, batchSize, device);
        return Accuracy(pred, labels);
    }

    /// <summary>Fraction of <paramref name="predicted"/> equal to <paramref name="labels"/>.</summary>
    public static double Accuracy(long[] predicted, long[] labels) => (double)predicted.Zip(labels).Count(p => p.First == p.Second) / labels.Length;

    /// <summary>
    /// One pass over a data set: the penultimate features (<see cref="LightNetForImageClassification.Features"/>, float64
    /// row-major [N, c]), the predicted classes and the data set's labels.
    /// </summary>
    public static (double[] Features, long[] Predicted, long[] Labels) FeaturesAndPredictions(LightNetForImageClassification model, IImageDataset data, int batchSize, Device device)
    {
        int dim = model.Config.HiddenSize;
        var feats = new double[(long)data.Count * dim];
        var pred = new long[data.Count];
        var labels = new long[data.Count];
        using var ng = NoGrad.Scope();
        for (int s = 0; s < data.Count; s += batchSize)
        {
            using var scope = DisposalScope.Begin();
            var idx = Enumerable.Range(s, Math.Min(batchSize, data.Count - s)).ToArray();
            var (x, y) = data.Batch(idx);
            var f = model.Features(new Variable(x.To(device)));
            f.Data.To(Device.Cpu).ToDoubleArray().CopyTo(feats, (long)s * dim);
            model.Head.Forward(f).Data.ArgMax(1).To(Device.Cpu).ToArray<long>().CopyTo(pred, s);
            y.ToArray<long>().CopyTo(labels, s);
        }
        return (feats, pred, labels);
    }

    /// <summary>Loads a classifier run directory (<c>config.json</c> and <c>model.safetensors</c>) onto a device.</summary>
    public static LightNetForImageClassification LoadRun(string dir, Device device)
    {
        var cfg = ImageClassifierConfig.FromJson(Checkpoint.ReadConfig(dir), Path.Combine(dir, "config.json"));
        var model = new LightNetForImageClassification(cfg, new Generator(0));
        Checkpoint.LoadWeights(dir, model);
        model.To(device);
        return model;
    }
}
