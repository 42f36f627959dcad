using LightNet.Cli.CommandLine;
using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary>
/// <c>lightnet train mlm …</c>: bidirectional masked LM on the Brown corpus (byte-level by default) with LightNet
/// attention (1 scan, MD-LRPE) or the 2-scan GLA baseline (<c>--mixer gla</c>); both with the 1-D MD-TPE after
/// the embedding unless <c>--tpe off</c> (<c>--lrpe off</c> and <c>--rpe-dim</c> for the ablations). Evaluation:
/// masked-token accuracy on the test files.
/// </summary>
internal static class TrainMlm
{
    public static int Run(Args a)
    {
        if (TrainRun.Begin(a, null) is not { } run) return 0;
        var mixer = MixerKinds.Parse(a.String("--mixer"), a.Command, MaskedLMConfig.MaskedMixers);
        var tok = TrainRun.Tokenizer(a, run);
        int seqLen = a.Int("--seq-len");
        var (hidden, heads) = TrainRun.Width(a);
        bool tpe = a.OnOff("--tpe") ?? true, lrpe = a.OnOff("--lrpe") ?? mixer == MixerKind.LightNet;
        if (lrpe && mixer != MixerKind.LightNet) throw a.Error("--lrpe on is LightNet's encoding; the GLA baseline has no feature map to apply it to");
        var cfg = new MaskedLMConfig
        {
            VocabSize = tok.VocabSize,
            MaskTokenId = tok.MaskId,
            HiddenSize = hidden,
            NumHiddenLayers = a.Int("--layers"),
            NumHeads = heads,
            GateLowRankDim = a.Int("--gate-rank"),
            Tpe = tpe,
            TpeRpeDim = a.Int("--rpe-dim"),
            Lrpe = lrpe,
            Mixer = mixer,
            Tokenizer = TextTokenizers.SaveForRun(tok, run.OutDir, overwrite: a.Recorded == null),
            MaxPositionEmbeddings = seqLen,
        };
        run = run with { ModelDType = TrainRun.ModelDType(a, run.Device), EvalEvery = run.EvalEvery ?? (int)Math.Max(1, run.Steps / 4) };
        TrainRun.RequireBf16Encodings(run.ModelDType, tpe, lrpe, a.Command);
        run = TrainRun.Record(a, run, new Dictionary<string, object?> { ["tpe"] = tpe ? "on" : "off", ["lrpe"] = lrpe ? "on" : "off" });
        Console.WriteLine($"train mlm: loading and tokenizing the Brown corpus ({tok.Name} tokens)…");
        var data = TextData.Load("brown", tok);
        var task = new MaskedLMTask(cfg, run, data.Train, data.HeldOut, seqLen, tok.TextIdCount, tok.PadId, a.Int("--eval-windows"));
        AnsiConsole.MarkupLine($"[bold]masked LM[/] ({mixer.Name()} mixer, {tok.Name} tokens) on Brown: {data.Train.Length:N0} train / {data.HeldOut.Length:N0} test tokens, " +
            $"hidden {cfg.HiddenSize}, {cfg.NumHiddenLayers} layers, {heads} heads{(tpe ? $", TPE (rpe dim {cfg.TpeRpeDim})" : "")}{(lrpe ? ", LRPE" : "")}, {task.Model.ParameterCount / 1e6:F2} M parameters; " +
            $"{run.Steps} steps × {run.BatchSize * run.GradAccumulation} × {seqLen} = {run.Steps * run.BatchSize * run.GradAccumulation * seqLen:N0} tokens → {Markup.Escape(run.OutDir)}");
        TrainRun.WithProgress(run, task, "tok");
        return 0;
    }
}
