using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary>
/// <c>lightnet train mlm …</c>: bidirectional masked LM on the Brown corpus (byte-level by default) with LightNet
/// attention (1 scan, MD-LRPE) or the 2-scan GLA baseline (<c>--mixer gla</c>); both with the 1-D MD-TPE after
/// the embedding. Evaluation: masked-token accuracy on the test files.
/// </summary>
internal static class TrainMlm
{
    public static int Run(string[] args)
    {
        var o = new Options("train mlm", args, TrainRun.Flags);
        var mixer = MixerKinds.Parse(o.String("--mixer") ?? "lightnet", "train mlm", MaskedLMConfig.MaskedMixers);
        var tok = TextTokenizers.Create(o.String("--tokenizer") ?? "byte");
        int seqLen = o.Int("--seq-len") ?? 128;
        int hidden = o.Int("--hidden") ?? 128, heads = o.Int("--heads") ?? 4;
        var cfg = new MaskedLMConfig
        {
            VocabSize = tok.VocabSize,
            MaskTokenId = tok.MaskId,
            HiddenSize = hidden,
            NumHiddenLayers = o.Int("--layers") ?? 4,
            NumHeads = heads,
            GateLowRankDim = o.Int("--gate-rank") ?? 32,
            TpeRpeDim = 32,
            Lrpe = mixer == MixerKind.LightNet,
            Mixer = mixer,
            Tokenizer = tok.Name,
            MaxPositionEmbeddings = seqLen,
        };
        int? evalWindows = o.Int("--eval-windows") ?? 128;
        var run = TrainRun.Common(o, new TrainRun.Defaults(Path.Combine("runs", "mlm"), Steps: 1000, BatchSize: 16, Lr: 2e-3, WeightDecay: 0.1), null);
        run = run with { ModelDType = TrainRun.ModelDType(o, "train mlm", run.Device) };
        o.RejectUnknown();
        TrainRun.RequireBf16Encodings(run.ModelDType, tpe: true, lrpe: cfg.Lrpe, "train mlm");
        if (seqLen < 1) throw new ArgumentException($"train mlm: --seq-len must be positive, got {seqLen}");
        if (heads <= 0 || hidden % heads != 0) throw new ArgumentException($"train mlm: --hidden {hidden} must be a positive multiple of --heads {heads}");
        run = run with { EvalEvery = run.EvalEvery ?? (int)Math.Max(1, run.Steps / 4) };
        var data = TextData.Load("brown", tok);
        var task = new MaskedLMTask(cfg, run, data.Train, data.HeldOut, seqLen, tok.TextIdCount, tok.PadId, evalWindows);
        AnsiConsole.MarkupLine($"[bold]masked LM[/] ({mixer.Name()} mixer, {tok.Name} tokens) on Brown: {data.Train.Length:N0} train / {data.HeldOut.Length:N0} test tokens, " +
            $"hidden {cfg.HiddenSize}, {cfg.NumHiddenLayers} layers, {heads} heads, {task.Model.ParameterCount / 1e6:F2} M parameters; " +
            $"{run.Steps} steps × {run.BatchSize * run.GradAccumulation} × {seqLen} = {run.Steps * run.BatchSize * run.GradAccumulation * seqLen:N0} tokens → {Markup.Escape(run.OutDir)}");
        TrainRun.WithProgress(run, task, "tok");
        return 0;
    }
}
