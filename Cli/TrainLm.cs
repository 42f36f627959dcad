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
    public static int Run(string[] args)
    {
        var o = new Options("train lm", args, TrainRun.Flags);
        var mixer = MixerKinds.Parse(o.String("--mixer") ?? "lightnet", "train lm");
        var tok = TextTokenizers.Create(o.String("--tokenizer") ?? "byte");
        int seqLen = o.Int("--seq-len") ?? 256;
        int hidden = o.Int("--hidden") ?? 128, heads = o.Int("--heads") ?? 4;
        var cfg = new LightNetConfig
        {
            VocabSize = tok.VocabSize,
            HiddenSize = hidden,
            NumHiddenLayers = o.Int("--layers") ?? 4,
            NumHeads = heads,
            ExpandRatio = heads > 0 ? hidden / heads : null,
            GateLowRankDim = o.Int("--gate-rank") ?? 32,
            Mixer = mixer,
            UseTpe = OnOff(o, "--tpe") ?? mixer == MixerKind.LightNet,
            UseLrpe = OnOff(o, "--lrpe") ?? mixer == MixerKind.LightNet,
            Tokenizer = tok.Name,
            MaxPositionEmbeddings = seqLen,
        };
        int? evalWindows = o.Int("--eval-windows") ?? 64;
        int sampleTokens = o.Int("--sample-tokens") ?? 300;
        var prompt = o.String("--prompt") ?? SampleText.DefaultPrompt;
        var run = TrainRun.Common(o, new TrainRun.Defaults(Path.Combine("runs", "lm"), Steps: 1000, BatchSize: 8, Lr: 2e-3, WeightDecay: 0.1), null);
        run = run with { ModelDType = TrainRun.ModelDType(o, "train lm", run.Device) };
        o.RejectUnknown();
        TrainRun.RequireBf16Encodings(run.ModelDType, cfg.UseTpe, cfg.UseLrpe, "train lm");
        if ((cfg.UseTpe || cfg.UseLrpe) && mixer != MixerKind.LightNet)
            throw new ArgumentException("train lm: --tpe and --lrpe on are LightNet's positional encodings; the baselines have their own (GLA: decay, softmax: rotary)");
        if (seqLen < 2) throw new ArgumentException($"train lm: --seq-len must be at least 2, got {seqLen}");
        if (heads <= 0 || hidden % heads != 0) throw new ArgumentException($"train lm: --hidden {hidden} must be a positive multiple of --heads {heads}");
        run = run with { EvalEvery = run.EvalEvery ?? (int)Math.Max(1, run.Steps / 5) };
        var data = TextData.Load("sotu", tok);
        var task = new CausalLMTask(cfg, run, data.Train, data.HeldOut, seqLen, evalWindows, TextData.BytesPerToken(tok));
        AnsiConsole.MarkupLine($"[bold]causal LM[/] ({mixer.Name()} mixer, {tok.Name} tokens) on SOTU: {data.Train.Length:N0} train / {data.HeldOut.Length:N0} validation tokens, " +
            $"hidden {cfg.HiddenSize}, {cfg.NumHiddenLayers} layers, {heads} heads{(cfg.UseTpe ? ", TPE" : "")}{(cfg.UseLrpe ? ", LRPE" : "")}, {task.Model.ParameterCount / 1e6:F2} M parameters; " +
            $"{run.Steps} steps × {run.BatchSize * run.GradAccumulation} × {seqLen} = {run.Steps * run.BatchSize * run.GradAccumulation * seqLen:N0} tokens → {Markup.Escape(run.OutDir)}");
        var result = TrainRun.WithProgress(run, task, "tok");
        if (result.Finished && sampleTokens > 0)
        {
            AnsiConsole.MarkupLine("[bold]sample[/] (temperature 0.8, top-k 40):");
            Console.WriteLine(SampleText.Generate(task.LanguageModel, tok, prompt, sampleTokens, 0.8, 40, run.Seed));
        }
        return 0;
    }

    /// <summary>Reads an <c>on|off</c> option (null when absent).</summary>
    private static bool? OnOff(Options o, string name) => o.String(name) switch
    {
        null => null,
        "on" => true,
        "off" => false,
        var v => throw new ArgumentException($"train lm: {name} expects on or off, got '{v}'"),
    };
}
