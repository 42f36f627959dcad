using LightNet.Cli.CommandLine;
using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary>
/// <c>lightnet train lm …</c>: causal LM on the State of the Union addresses (byte-level by default) with
/// LightNet attention (with 1-D causal MD-TPE and MD-LRPE unless <c>--tpe off</c> / <c>--lrpe off</c>) or a same-size
/// baseline mixer (<c>--mixer gla|softmax</c>); validation loss on the
/// addresses from 2006 on; prints a generated sample at the end.
/// </summary>
internal static class TrainLm
{
    public static int Run(Args a)
    {
        if (TrainRun.Begin(a, null) is not { } run) return 0;
        var mixer = MixerKinds.Parse(a.String("--mixer"), a.Command);
        var tok = TrainRun.Tokenizer(a, run);
        int seqLen = a.Int("--seq-len");
        var (hidden, heads) = TrainRun.Width(a);
        var cfg = new LightNetConfig
        {
            VocabSize = tok.VocabSize,
            HiddenSize = hidden,
            NumHiddenLayers = a.Int("--layers"),
            NumHeads = heads,
            ExpandRatio = hidden / heads,
            GateLowRankDim = a.Int("--gate-rank"),
            Mixer = mixer,
            UseTpe = a.OnOff("--tpe") ?? mixer == MixerKind.LightNet,
            UseLrpe = a.OnOff("--lrpe") ?? mixer == MixerKind.LightNet,
            Tokenizer = TextTokenizers.SaveForRun(tok, run.OutDir, overwrite: a.Recorded == null),
            MaxPositionEmbeddings = seqLen,
        };
        run = run with { ModelDType = TrainRun.ModelDType(a, run.Device), EvalEvery = run.EvalEvery ?? (int)Math.Max(1, run.Steps / 5) };
        TrainRun.RequireBf16Encodings(run.ModelDType, cfg.UseTpe, cfg.UseLrpe, a.Command);
        if ((cfg.UseTpe || cfg.UseLrpe) && mixer != MixerKind.LightNet)
            throw a.Error("--tpe and --lrpe on are LightNet's positional encodings; the baselines have their own (GLA: decay, softmax: rotary)");
        run = TrainRun.Record(a, run, new Dictionary<string, object?> { ["tpe"] = cfg.UseTpe ? "on" : "off", ["lrpe"] = cfg.UseLrpe ? "on" : "off" });
        Console.WriteLine($"train lm: loading and tokenizing State of the Union ({tok.Name} tokens)…");
        var data = TextData.Load("sotu", tok);
        var task = new CausalLMTask(cfg, run, data.Train, data.HeldOut, seqLen, a.Int("--eval-windows"), TextData.BytesPerToken(tok));
        AnsiConsole.MarkupLine($"[bold]causal LM[/] ({mixer.Name()} mixer, {tok.Name} tokens) on SOTU: {data.Train.Length:N0} train / {data.HeldOut.Length:N0} validation tokens, " +
            $"hidden {cfg.HiddenSize}, {cfg.NumHiddenLayers} layers, {heads} heads{(cfg.UseTpe ? ", TPE" : "")}{(cfg.UseLrpe ? ", LRPE" : "")}, {task.Model.ParameterCount / 1e6:F2} M parameters; " +
            $"{run.Steps} steps × {run.BatchSize * run.GradAccumulation} × {seqLen} = {run.Steps * run.BatchSize * run.GradAccumulation * seqLen:N0} tokens → {Markup.Escape(run.OutDir)}");
        var result = TrainRun.WithProgress(run, task, "tok");
        int sampleTokens = a.Int("--sample-tokens");
        if (result.Finished && !result.FinishedBefore && sampleTokens > 0)
        {
            AnsiConsole.MarkupLine("[bold]sample[/] (temperature 0.8, top-k 40):");
            Console.WriteLine(SampleText.Generate(task.LanguageModel, tok, a.String("--prompt"), sampleTokens, 0.8, 40, run.Seed));
        }
        return 0;
    }
}
