using LightNet.Cli.CommandLine;
using LightNet.Models.LightNet;
using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary>
/// <c>lightnet train classify …</c>: image classification on Fashion-MNIST (fetches the data) with LightNet attention
/// (2-D MD-TPE and MD-LRPE) or a same-size baseline mixer on the patch grid (<c>--mixer gla</c>: 4 directional
/// multiplicative-decay scans; <c>--mixer softmax</c>: full attention with 2-D rotary positions). As in <c>train lm</c>,
/// the baselines run without MD-TPE and MD-LRPE: their decay or rotary angles carry the positions.
/// </summary>
internal static class TrainClassify
{
    public static int Run(Args a)
    {
        if (TrainRun.Begin(a, LightNet.Models.Data.FashionMnist.TrainImages) is not { } run) return 0;
        var mixer = MixerKinds.Parse(a.String("--mixer"), a.Command);
        var (hidden, heads) = TrainRun.Width(a);
        var cfg = new ImageClassifierConfig
        {
            InChannels = 1,
            ImageHeight = 28,
            ImageWidth = 28,
            PatchSize = a.Int("--patch"),
            HiddenSize = hidden,
            NumHiddenLayers = a.Int("--layers"),
            NumHeads = heads,
            GateLowRankDim = a.Int("--gate-rank"),
            NumClasses = 10,
            TpeRpeDim = 16,
            Mixer = mixer,
            Tpe = mixer == MixerKind.LightNet,
            Lrpe = mixer == MixerKind.LightNet,
        };
        if (28 % cfg.PatchSize != 0) throw a.Error($"--patch must divide 28, got {cfg.PatchSize}");
        run = TrainRun.Record(a, run, new Dictionary<string, object?> { ["dtype"] = "float32" });
        AnsiConsole.MarkupLine($"[bold]image classifier[/] ({mixer.Name()} mixer) on Fashion-MNIST: hidden {cfg.HiddenSize}, {cfg.NumHiddenLayers} layers, {cfg.Grid[0]}×{cfg.Grid[1]} patches, " +
            $"{run.Steps} steps of {run.BatchSize} → {Markup.Escape(run.OutDir)}; loading the data…");
        var (train, test) = TrainRun.FashionMnist();
        TrainRun.WithProgress(run, new ClassifierTask(cfg, run, train, test), "img");
        return 0;
    }
}
