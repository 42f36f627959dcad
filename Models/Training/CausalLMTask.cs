using LightNet.Autograd;
using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;

namespace LightNet.Models.Training;

/// <summary>
/// Causal language modelling as a <see cref="ITrainingTask"/>: <see cref="LightNetForCausalLM"/> (any mixer) on
/// random windows of the training stream (a function of seed and step), validation loss over a fixed, evenly
/// spread set of non-overlapping windows of the held-out stream.
/// </summary>
public sealed class CausalLMTask : ITrainingTask
{
    private readonly LightNetForCausalLM _model;
    private readonly TokenWindows _train;
    private readonly TokenWindows _valid;
    private readonly int[] _evalIdx;
    private readonly RunOptions _run;
    private readonly double? _bytesPerToken;

    /// <summary>
    /// Builds the model from <paramref name="config"/> on <paramref name="run"/>'s device; windows of
    /// <paramref name="seqLen"/> tokens; <paramref name="evalWindows"/> validation windows (all when null);
    /// <paramref name="bytesPerToken"/> turns the loss into bits per byte (null: not reported).
    /// </summary>
    public CausalLMTask(LightNetConfig config, RunOptions run, int[] train, int[] valid, int seqLen, int? evalWindows, double? bytesPerToken)
    {
        Config = config;
        _run = run;
        _train = new TokenWindows(train, seqLen);
        _valid = new TokenWindows(valid, seqLen);
        _evalIdx = TextEvaluation.SpreadWindows(_valid, evalWindows);
        _bytesPerToken = bytesPerToken;
        _model = new LightNetForCausalLM(config, new Generator(run.Seed), run.ModelDType);
        _model.To(run.Device);
    }

    /// <summary>Configuration of the model being trained.</summary>
    public LightNetConfig Config { get; }
    /// <summary>The model being trained.</summary>
    public LightNetForCausalLM LanguageModel => _model;
    /// <inheritdoc/>
    public Module Model => _model;
    /// <inheritdoc/>
    public string ConfigJson => Config.ToJson();
    /// <inheritdoc/>
    public string LossName => LossNames.CausalLM;
    /// <inheritdoc/>
    public int ItemsPerMicroBatch => _run.LocalBatchSize * _train.Length;
    /// <summary>Number of validation windows evaluated.</summary>
    public int EvalWindowCount => _evalIdx.Length;

    /// <inheritdoc/>
    public Variable Loss(long step, int micro)
    {
        var ids = _train.RandomBatch(_run.BatchSize, _run.Seed, step * _run.GradAccumulation + micro, _run.Device);
        return _model.Loss(_run.ShardRows(ids));
    }

    /// <summary>Validation <c>val_loss</c>, <c>val_ppl</c> and, when bytes per token is known, <c>val_bpb</c>.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(long step, bool final) =>
        TextEvaluation.CausalMetrics(TextEvaluation.CausalLoss(_model, _valid, _evalIdx, _run.BatchSize, _run.Device), _bytesPerToken);
}
