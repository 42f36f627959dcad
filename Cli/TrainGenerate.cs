using LightNet.Models.LightNet;
using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary><c>lightnet train generate …</c>: class-conditional DDPM training of the LightNet DiT on Fashion-MNIST, then a sample grid.</summary>
internal static class TrainGenerate
{
    public static int Run(string[] args)
    {
        var o = new Options("train generate", args, TrainRun.Flags);
        var cfg = new DiTConfig
        {
            PatchSize = o.Int("--patch") ?? 4,
            HiddenSize = o.Int("--hidden") ?? 64,
            NumHiddenLayers = o.Int("--layers") ?? 4,
            NumHeads = o.Int("--heads") ?? 2,
            GateLowRankDim = o.Int("--gate-rank") ?? 16,
            TpeRpeDim = 16,
        };
        if (cfg.PatchSize <= 0 || 28 % cfg.PatchSize != 0) throw new ArgumentException($"train generate: --patch must divide 28, got {cfg.PatchSize}");
        if (cfg.HiddenSize <= 0 || cfg.NumHiddenLayers <= 0 || cfg.NumHeads is not > 0) throw new ArgumentException("train generate: --hidden, --layers and --heads must be positive");
        double drop = o.Double("--label-drop") ?? 0.1;
        if (drop is < 0 or > 1) throw new ArgumentException($"train generate: --label-drop must be in [0, 1], got {drop}");
        var outDir = o.String("--out") ?? Path.Combine("runs", "generate");
        var grid = SampleImages.GridOptions.Read(o, Path.Combine(outDir, "samples.png"));
        var (train, test) = TrainRun.FashionMnist();
        var run = TrainRun.Common(o, new TrainRun.Defaults(outDir, Steps: 1800, BatchSize: 64, Lr: 1.5e-3, WeightDecay: 0, EmaDecay: 0.998), train.Count);
        o.RejectUnknown();
        var task = new GenerationTask(cfg, run, train, test, drop);
        AnsiConsole.MarkupLine($"[bold]LightNet DiT[/] on Fashion-MNIST: {train.Count} train images, hidden {cfg.HiddenSize}, {cfg.NumHiddenLayers} layers, " +
            $"{cfg.Grid[0]}×{cfg.Grid[1]} patches, {run.Steps} steps of {run.BatchSize} ({run.Steps * run.BatchSize * run.GradAccumulation} images), EMA {run.EmaDecay} → {Markup.Escape(run.OutDir)}");
        var result = TrainRun.WithProgress(run, task, "img");
        if (result.Finished) SampleImages.WriteGrid(run.OutDir, run.Device, grid);
        return 0;
    }
}
