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

    public ImageClassifierConfig Config { get; }
    public Module Model => _model;
    public string ConfigJson => Config.ToJson();
    public int ItemsPerMicroBatch => _run.LocalBatchSize;

    public Variable Loss(long step, int micro)
    {
        var (x, y) = _train.Batch(_run.Shard(_sampler.ForStep(step * _run.GradAccumulation + micro)));
        return _model.Loss(new Variable(x.To(_run.Device)), y.To(_run.Device));
    }

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
