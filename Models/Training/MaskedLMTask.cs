using LightNet.Autograd;
using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;

namespace LightNet.Models.Training;

/// <summary>
/// Masked language modelling as a <see cref="ITrainingTask"/>: <see cref="LightNetForMaskedLM"/> (LightNet or the
/// 2-scan GLA baseline) on random unpadded windows of the training stream with BERT masking (windows and masks
/// functions of seed and step); evaluation: masked-token accuracy over a fixed set of test windows with fixed masks.
/// </summary>
public sealed class MaskedLMTask : ITrainingTask
{
    /// <summary>Mixed into the seed for the masking draws so they are independent of the window draws.</summary>
    private const ulong MaskKey = 0xA5A5_5A5A_C3C3_3C3CUL;

    private readonly LightNetForMaskedLM _model;
    private readonly TokenWindows _train;
    private readonly TokenWindows _test;
    private readonly int[] _evalIdx;
    private readonly MaskedLmBatcher _masker;
    private readonly MaskedLmBatcher _evalMasker;
    private readonly RunOptions _run;

    /// <summary>Builds the model; <paramref name="textIdCount"/> ordinary ids (random replacement), windows of <paramref name="seqLen"/>, <paramref name="evalWindows"/> test windows (all when null).</summary>
    public MaskedLMTask(MaskedLMConfig config, RunOptions run, int[] train, int[] test, int seqLen, int textIdCount, int padId, int? evalWindows)
    {
        Config = config;
        _run = run;
        _train = new TokenWindows(train, seqLen);
        _test = new TokenWindows(test, seqLen);
        _evalIdx = TextEvaluation.SpreadWindows(_test, evalWindows);
        _masker = new MaskedLmBatcher(textIdCount, (int)config.MaskTokenId, padId, run.Seed ^ MaskKey);
        _evalMasker = new MaskedLmBatcher(textIdCount, (int)config.MaskTokenId, padId, TextEvaluation.EvalMaskSeed);
        _model = new LightNetForMaskedLM(config, new Generator(run.Seed), run.ModelDType);
        _model.To(run.Device);
    }

    /// <summary>Configuration of the model being trained.</summary>
    public MaskedLMConfig Config { get; }
    /// <inheritdoc/>
    public Module Model => _model;
    /// <inheritdoc/>
    public string ConfigJson => Config.ToJson();
    /// <inheritdoc/>
    public string LossName => LossNames.MaskedLM;
    /// <inheritdoc/>
    public int ItemsPerMicroBatch => _run.LocalBatchSize * _train.Length;

    /// <inheritdoc/>
    public Variable Loss(long step, int micro)
    {
        long s = step * _run.GradAccumulation + micro;
        using var ids = _train.RandomBatch(_run.BatchSize, _run.Seed, s);
        var mb = _masker.Mask(ids, s);
        return _model.Loss(_run.ShardRows(mb.InputIds).To(_run.Device), _run.ShardRows(mb.Labels).To(_run.Device));
    }

    /// <summary><c>test_masked_accuracy</c> and <c>test_masked_loss</c> over the fixed test windows and masks.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(long step, bool final)
    {
        var (acc, loss, _) = TextEvaluation.MaskedAccuracy(_model, _test, _evalIdx, _evalMasker, _run.BatchSize, _run.Device);
        return new Dictionary<string, double> { ["test_masked_accuracy"] = acc, ["test_masked_loss"] = loss };
    }
}
