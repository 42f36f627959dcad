using LightNet.Cli.CommandLine;
using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary>
/// <c>lightnet train video …</c>: the 3-D task. A video classifier (pt×p×p tubelets, a 3-D token grid) on Moving
/// Fashion-MNIST clips generated on the fly from the Fashion-MNIST images (<see cref="MovingFashionMnist"/>; fetched
/// like <c>train classify</c>'s), with LightNet attention (3-D MD-TPE and MD-LRPE unless <c>--tpe off</c> /
/// <c>--lrpe off</c>) or a same-size baseline (<c>--mixer gla</c>: 6 directional scans; <c>--mixer softmax</c>: full
/// attention with 3-D rotary positions), which run without MD-TPE and MD-LRPE unless <c>--tpe on</c> (MD-LRPE is
/// LightNet's alone). Evaluation: accuracy on the first <c>--eval-clips</c> test clips.
/// </summary>
internal static class TrainVideo
{
    public static int Run(Args a)
    {
        if (TrainRun.Begin(a, FashionMnist.TrainImages) is not { } run) return 0;
        var mixer = MixerKinds.Parse(a.String("--mixer"), a.Command);
        var data = DataOptions(a, a.Seed("--data-seed"));
        var (hidden, heads) = TrainRun.Width(a);
        bool tpe = a.OnOff("--tpe") ?? mixer == MixerKind.LightNet, lrpe = a.OnOff("--lrpe") ?? mixer == MixerKind.LightNet;
        if (lrpe && mixer != MixerKind.LightNet) throw a.Error("--lrpe on is LightNet's encoding; the baselines carry positions themselves (GLA: directional decay, softmax: rotary)");
        var cfg = new VideoClassifierConfig
        {
            InChannels = 1,
            NumFrames = data.Frames,
            ImageHeight = data.Size,
            ImageWidth = data.Size,
            TubeletFrames = a.Int("--tubelet"),
            PatchSize = a.Int("--patch"),
            HiddenSize = hidden,
            NumHiddenLayers = a.Int("--layers"),
            NumHeads = heads,
            GateLowRankDim = a.Int("--gate-rank"),
            NumClasses = FashionMnist.ClassNames.Count,
            Mixer = mixer,
            Tpe = tpe,
            Lrpe = lrpe,
        };
        if (data.Frames % cfg.TubeletFrames != 0) throw a.Error($"--tubelet {cfg.TubeletFrames} must divide --frames {data.Frames}");
        if (data.Size % cfg.PatchSize != 0) throw a.Error($"--patch {cfg.PatchSize} must divide --size {data.Size}");
        if (mixer == MixerKind.Softmax && (hidden / heads) % 2 != 0) throw a.Error($"--mixer softmax needs an even head dim (--hidden / --heads), got {hidden / heads}");
        int evalClips = a.Int("--eval-clips");
        run = TrainRun.Record(a, run, new Dictionary<string, object?> { ["dtype"] = "float32", ["tpe"] = tpe ? "on" : "off", ["lrpe"] = lrpe ? "on" : "off" });
        var g = cfg.Grid;
        AnsiConsole.MarkupLine($"[bold]video classifier[/] ({mixer.Name()} mixer{(tpe ? ", TPE" : "")}{(lrpe ? ", LRPE" : "")}) on Moving Fashion-MNIST: {data.Frames} frames of {data.Size}×{data.Size}, " +
            $"{data.Garments} garment{(data.Garments > 1 ? "s" : "")}, {cfg.TubeletFrames}×{cfg.PatchSize}×{cfg.PatchSize} tubelets → {g[0]}×{g[1]}×{g[2]} = {cfg.Tokens} tokens; " +
            $"hidden {hidden}, {cfg.NumHiddenLayers} layers, {heads} heads; {run.Steps} steps of {run.BatchSize} → {Markup.Escape(run.OutDir)}; loading the data…");
        var train = FashionMnist.LoadOrFetch(true, log: Console.Out);
        var test = FashionMnist.LoadOrFetch(false, log: Console.Out);
        var task = new VideoTask(cfg, run, MovingFashionMnist.From(train, data), MovingFashionMnist.From(test, data), evalClips);
        Console.WriteLine($"{task.Model.ParameterCount / 1e6:F3} M parameters; evaluation on the first {task.EvalClips} of {test.Count} test clips");
        TrainRun.WithProgress(run, task, "clip");
        return 0;
    }

    /// <summary>The generator settings from the data flags (<c>--frames</c>, <c>--size</c>, <c>--garments</c>, <c>--max-speed</c>) and a data seed.</summary>
    public static MovingFashionMnistOptions DataOptions(Args a, ulong seed)
    {
        var o = new MovingFashionMnistOptions(a.Int("--frames"), a.Int("--size"), a.Int("--garments"), a.Int("--max-speed"), seed);
        try { o.Validate(); }
        catch (ArgumentException e) { throw a.Error(e.Message); }
        return o;
    }
}
