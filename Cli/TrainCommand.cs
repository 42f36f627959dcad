using LightNet.Models.LightNet;
using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary><c>lightnet train classify …</c>: LightNet image classification on Fashion-MNIST with progress, metrics, checkpoints and resume.</summary>
internal static class TrainCommand
{
    private static readonly HashSet<string> Flags = ["--resume"];

    public static int Run(string[] args)
    {
        if (args.Length == 0) throw new ArgumentException("train: which task? (classify)");
        return args[0] switch
        {
            "classify" => Classify(args[1..]),
            _ => throw new ArgumentException($"train: unknown task '{args[0]}' (available: classify)"),
        };
    }

    private static int Classify(string[] args)
    {
        var o = new Options("train classify", args, Flags);
        if (o.Int("--threads") is int th) Parallelism.Threads = th;
        IImageDataset train = LightNet.Models.Data.FashionMnist.LoadOrFetch(true, log: Console.Out), test = LightNet.Models.Data.FashionMnist.LoadOrFetch(false, log: Console.Out);
        int batch = o.Int("--batch-size") ?? 64;
        long steps = o.Long("--steps") ?? (o.Long("--epochs") is long ep ? ep * (train.Count / batch) : 2800);
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
        var opts = new ClassifyOptions
        {
            Model = cfg,
            OutDir = o.String("--out") ?? Path.Combine("runs", "classify"),
            Steps = steps,
            StopAfter = o.Long("--stop-after"),
            BatchSize = batch,
            Lr = o.Double("--lr") ?? 2e-3,
            Seed = (ulong)(o.Long("--seed") ?? 0),
            Resume = o.Flag("--resume"),
            CheckpointEvery = o.Int("--checkpoint-every") ?? 100,
            Device = Device.Parse(o.String("--device") ?? "cpu"),
        };
        o.RejectUnknown();
        AnsiConsole.MarkupLine($"[bold]LightNet image classifier[/] on Fashion-MNIST: {train.Count} train / {test.Count} test images, " +
            $"hidden {cfg.HiddenSize}, {cfg.NumHiddenLayers} layers, {cfg.Grid[0]}×{cfg.Grid[1]} patches, {steps} steps of {batch} → {Markup.Escape(opts.OutDir)}");
        TrainResult result = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", maxValue: steps);
                result = ClassifierTraining.Run(opts, train, test, p =>
                {
                    task.Value = p.Step;
                    task.Description = $"step {p.Step}/{p.Total} loss {p.Loss:F4} {p.ItemsPerSecond:F0} img/s";
                });
            });
        try
        {
            if (LossPlot.Write(opts.OutDir) is { } png) AnsiConsole.MarkupLine($"loss curve: {Markup.Escape(png)}");
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            AnsiConsole.MarkupLine($"[yellow]no loss plot[/]: the plotting library could not load its native part ({Markup.Escape(e.Message)})");
        }
        if (!result.Finished)
        {
            AnsiConsole.MarkupLine($"stopped after step {result.StepsDone} (checkpoint in {Markup.Escape(TrainingCheckpoint.PathIn(opts.OutDir))}); continue with --resume");
            return 0;
        }
        AnsiConsole.MarkupLine($"[green]done[/]: {result.StepsDone} steps, last loss {result.LastLoss:F4}, test accuracy [bold]{result.TestAccuracy:P2}[/]");
        AnsiConsole.MarkupLine($"model: {Markup.Escape(Path.Combine(opts.OutDir, "model.safetensors"))}, metrics: {Markup.Escape(Path.Combine(opts.OutDir, "metrics.jsonl"))}");
        return 0;
    }
}
