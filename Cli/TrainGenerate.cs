using LightNet.Cli.CommandLine;
using LightNet.Models.LightNet;
using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary>
/// <c>lightnet train generate …</c>: class-conditional DDPM training of the LightNet DiT on Fashion-MNIST, then a sample
/// grid. <c>--mixer gla|softmax</c> puts a baseline mixer on the patch grid instead of LightNet attention, without MD-TPE
/// and MD-LRPE (as in <c>train classify</c>).
/// </summary>
internal static class TrainGenerate
{
    public static int Run(Args a)
    {
        if (TrainRun.Begin(a, LightNet.Models.Data.FashionMnist.TrainImages) is not { } run) return 0;
        var mixer = MixerKinds.Parse(a.String("--mixer"), a.Command);
        var (hidden, heads) = TrainRun.Width(a);
        var cfg = new DiTConfig
        {
            PatchSize = a.Int("--patch"),
            HiddenSize = hidden,
            NumHiddenLayers = a.Int("--layers"),
            NumHeads = heads,
            GateLowRankDim = a.Int("--gate-rank"),
            TpeRpeDim = 16,
            Mixer = mixer,
            Tpe = mixer == MixerKind.LightNet,
            Lrpe = mixer == MixerKind.LightNet,
        };
        if (28 % cfg.PatchSize != 0) throw a.Error($"--patch must divide 28, got {cfg.PatchSize}");
        var grid = SampleImages.GridOptions.Read(a, Path.Combine(run.OutDir, "samples.png"), "--sample-steps", "--sample-seed", "--grid");
        run = TrainRun.Record(a, run, new Dictionary<string, object?> { ["dtype"] = "float32" });
        AnsiConsole.MarkupLine($"[bold]DiT[/] ({mixer.Name()} mixer) on Fashion-MNIST: hidden {cfg.HiddenSize}, {cfg.NumHiddenLayers} layers, {cfg.Grid[0]}×{cfg.Grid[1]} patches, " +
            $"{run.Steps} steps of {run.BatchSize} ({run.Steps * run.BatchSize * run.GradAccumulation} images), EMA {run.EmaDecay} → {Markup.Escape(run.OutDir)}; loading the data…");
        var (train, test) = TrainRun.FashionMnist();
        var task = new GenerationTask(cfg, run, train, test, a.Double("--label-drop"));
        var result = TrainRun.WithProgress(run, task, "img");
        if (result.Finished && !result.FinishedBefore) SampleImages.WriteGrid(run.OutDir, run.Device, grid);
        return 0;
    }
}
