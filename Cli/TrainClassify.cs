using LightNet.Models.LightNet;
using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary><c>lightnet train classify …</c>: LightNet image classification on Fashion-MNIST (fetches the data).</summary>
internal static class TrainClassify
{
    public static int Run(string[] args)
    {
        var o = new Options("train classify", args, TrainRun.Flags);
        var (train, test) = TrainRun.FashionMnist();
        var run = TrainRun.Common(o, new TrainRun.Defaults(Path.Combine("runs", "classify"), Steps: 2800, BatchSize: 64, Lr: 2e-3), train.Count);
        var cfg = new ImageClassifierConfig
        {
            InChannels = 1,
            ImageHeight = 28,
            ImageWidth = 28,
            PatchSize = o.Int("--patch") ?? 4,
            HiddenSize = o.Int("--hidden") ?? 64,
            NumHiddenLayers = o.Int("--layers") ?? 4,
            NumHeads = o.Int("--heads") ?? 2,
            GateLowRankDim = o.Int("--gate-rank") ?? 16,
            NumClasses = 10,
            TpeRpeDim = 16,
        };
        o.RejectUnknown();
        AnsiConsole.MarkupLine($"[bold]LightNet image classifier[/] on Fashion-MNIST: {train.Count} train / {test.Count} test images, " +
            $"hidden {cfg.HiddenSize}, {cfg.NumHiddenLayers} layers, {cfg.Grid[0]}×{cfg.Grid[1]} patches, {run.Steps} steps of {run.BatchSize} → {Markup.Escape(run.OutDir)}");
        TrainRun.WithProgress(run, new ClassifierTask(cfg, run, train, test), "img");
        return 0;
    }
}
