using LightNet.Autograd;
using LightNet.Models.Diffusion;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;

namespace LightNet.Models.Training;

/// <summary>
/// Class-conditional DDPM training of <see cref="LightNetDiT"/> as a <see cref="ITrainingTask"/>: images scaled to
/// [−1, 1], ε-prediction MSE, t uniform in [0, T), labels dropped to the null class with probability
/// <see cref="LabelDrop"/> (for classifier-free guidance). Batches, timesteps, noise and drops are functions of
/// (seed, step, micro), so resume is bitwise. Evaluation: the loss on a fixed noised slice of the test set.
/// </summary>
public sealed class GenerationTask : ITrainingTask
{
    private const int ValidationImages = 256;
    private readonly LightNetDiT _model;
    private readonly IImageDataset _train;
    private readonly IImageDataset? _test;
    private readonly EpochSampler _sampler;
    private readonly RunOptions _run;
    private readonly DiffusionSchedule _schedule;

    /// <summary>
    /// Builds the DiT (with <see cref="UnitScaleConditioning"/>) on <paramref name="run"/>'s device; throws when <paramref name="labelDrop"/>
    /// is outside [0, 1] or the training data's size or classes differ from the config.
    /// </summary>
    public GenerationTask(DiTConfig config, RunOptions run, IImageDataset train, IImageDataset? test, double labelDrop = 0.1)
    {
        if (labelDrop is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(labelDrop), $"train generate: --label-drop must be in [0, 1], got {labelDrop}");
        if (train.Channels != config.InChannels || train.Height != config.ImageHeight || train.Width != config.ImageWidth || train.Classes != config.NumClasses)
            throw new ArgumentException($"train generate: data {train.Channels}×{train.Height}×{train.Width} with {train.Classes} classes does not match the model " +
                $"{config.InChannels}×{config.ImageHeight}×{config.ImageWidth} with {config.NumClasses}");
        Config = config;
        LabelDrop = labelDrop;
        _run = run;
        _train = train;
        _test = test;
        _model = new LightNetDiT(config, new Generator(run.Seed));
        UnitScaleConditioning(_model, new Generator(run.Seed ^ 0xC0D1710DUL));
        _model.To(run.Device);
        _sampler = new EpochSampler(train.Count, run.BatchSize, run.Seed);
        _schedule = new DiffusionSchedule(_model.AlphasCumprod());
    }

    /// <summary>Configuration of the model being trained.</summary>
    public DiTConfig Config { get; }
    /// <summary>Probability of replacing a label by the null class.</summary>
    public double LabelDrop { get; }
    /// <inheritdoc/>
    public Module Model => _model;
    /// <inheritdoc/>
    public string ConfigJson => Config.ToJson();
    /// <inheritdoc/>
    public string LossName => LossNames.Diffusion;
    /// <inheritdoc/>
    public int ItemsPerMicroBatch => _run.LocalBatchSize;

    /// <inheritdoc/>
    public Variable Loss(long step, int micro)
    {
        long global = step * _run.GradAccumulation + micro;
        // Data parallel: this rank's images, with its own noise stream (rank 0's equals the single-process stream).
        var (x, y) = _train.Batch(_run.Shard(_sampler.ForStep(global)));
        return NoisedLoss(x, y, StreamKey.Of(_run.Seed, (ulong)global, (ulong)_run.Rank), LabelDrop);
    }

    /// <summary><c>val_loss</c> on a fixed noised slice of up to 256 test images, or nothing without a test set.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(long step, bool final)
    {
        if (_test == null) return new Dictionary<string, double>();
        using var ng = NoGrad.Scope();
        using var scope = DisposalScope.Begin();
        var (x, y) = _test.Batch(Enumerable.Range(0, Math.Min(ValidationImages, _test.Count)).ToArray());
        return new Dictionary<string, double> { ["val_loss"] = NoisedLoss(x, y, StreamKey.Of(_run.Seed, ulong.MaxValue, 0), 0).Data.Item() };
    }

    /// <summary>
    /// Re-initialises the conditioning inputs at unit scale: <c>y_embed</c> ~ N(0, 1) and the <c>t_embed</c> MLP with
    /// std 1/√fan_in. With DiT's 0.02 init the conditioning vector is ~0.02 in size, so the zero-initialised adaLN
    /// layers learn to use it (and the label table gets gradient) only after very long training; at unit scale the
    /// class and timestep reach the modulations within the first hundred steps. The model's own init is kept
    /// for everything else (and a resumed run loads its weights anyway).
    /// </summary>
    public static void UnitScaleConditioning(LightNetDiT model, Generator g)
    {
        void Set(Variable p, double std)
        {
            using var w = Nn.Init.Normal(p.Data.Shape, std, g, p.Data.DType);
            p.Data.CopyFrom(w);
        }
        Set(model.YEmbed.Weight, 1.0);
        Set(model.TEmbed.Mlp0.Weight, 1 / Math.Sqrt(model.TEmbed.Mlp0.Weight.Data.Shape[1]));
        Set(model.TEmbed.Mlp2.Weight, 1 / Math.Sqrt(model.TEmbed.Mlp2.Weight.Data.Shape[1]));
    }

    private Variable NoisedLoss(Tensor images, Tensor labels, ulong key, double drop)
    {
        var b = _schedule.Noised(images.ToArray<float>(), labels.ToArray<long>(), key, drop, Config.NullClassId);
        var d = _run.Device;
        return _model.Loss(new Variable(Tensor.FromArray(b.Xt, images.Shape, d)), Tensor.FromArray(b.Timesteps, device: d),
            Tensor.FromArray(b.Labels, device: d), Tensor.FromArray(b.Noise, images.Shape, d));
    }
}
