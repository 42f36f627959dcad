using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary>The flags every <c>lightnet train</c> task shares, and the progress display around <see cref="TrainingLoop"/>.</summary>
internal static class TrainRun
{
    /// <summary>Flags without a value.</summary>
    public static readonly HashSet<string> Flags = ["--resume"];

    /// <summary>Defaults a task chooses for the common flags.</summary>
    public sealed record Defaults(string OutDir, long Steps, int BatchSize, double Lr, double WeightDecay = 0.05, double? EmaDecay = null);

    /// <summary>
    /// Reads <c>--steps|--epochs --stop-after --batch-size --grad-accum --lr --warmup --weight-decay --clip --ema --seed
    /// --device --out --resume --checkpoint-every --eval-every --threads</c> and, in a data-parallel rank, joins the job
    /// (<see cref="Launcher"/>; <c>--batch-size</c> is then the global batch). <paramref name="itemsPerEpoch"/> turns
    /// <c>--epochs</c> into steps (null: the task has no epochs).
    /// </summary>
    public static RunOptions Common(Options o, Defaults d, long? itemsPerEpoch)
    {
        var (collective, rankDevice) = Launcher.Join(Launcher.Read(o));
        var deviceFlag = o.String("--device");
        if (o.Int("--threads") is int th) Parallelism.Threads = th;
        int batch = o.Int("--batch-size") ?? d.BatchSize;
        int accum = o.Int("--grad-accum") ?? 1;
        long? epochs = o.Long("--epochs");
        if (epochs != null && itemsPerEpoch == null) throw new ArgumentException("train: this task has no epochs; use --steps");
        if (epochs != null && o.Long("--steps") != null) throw new ArgumentException("train: give --steps or --epochs, not both");
        long steps = o.Long("--steps") ?? (epochs is long ep ? Math.Max(1, ep * (itemsPerEpoch!.Value / ((long)Math.Max(1, batch) * Math.Max(1, accum)))) : d.Steps);
        return new RunOptions
        {
            OutDir = o.String("--out") ?? d.OutDir,
            Steps = steps,
            StopAfter = o.Long("--stop-after"),
            BatchSize = batch,
            GradAccumulation = accum,
            Lr = o.Double("--lr") ?? d.Lr,
            WarmupSteps = o.Long("--warmup"),
            WeightDecay = o.Double("--weight-decay") ?? d.WeightDecay,
            ClipNorm = o.Double("--clip") ?? 1.0,
            EmaDecay = o.Double("--ema") ?? d.EmaDecay,
            Seed = (ulong)(o.Long("--seed") ?? 0),
            Resume = o.Flag("--resume"),
            CheckpointEvery = o.Int("--checkpoint-every") ?? 100,
            EvalEvery = o.Int("--eval-every"),
            Device = rankDevice ?? DeviceOption.Resolve("train", deviceFlag),
            Collective = collective,
        };
    }

    /// <summary>Fashion-MNIST's train and test splits, fetched into the cache first when missing.</summary>
    public static (IImageDataset Train, IImageDataset Test) FashionMnist() =>
        (LightNet.Models.Data.FashionMnist.LoadOrFetch(true, log: Console.Out), LightNet.Models.Data.FashionMnist.LoadOrFetch(false, log: Console.Out));

    /// <summary>
    /// <c>--dtype float32|float64|bfloat16</c> of the weights and activations (tasks fed with token ids). bfloat16 (storage, float32
    /// arithmetic inside the kernels) needs a CUDA device.
    /// </summary>
    public static DType ModelDType(Options o, string command, Device device)
    {
        var dt = o.String("--dtype") switch
        {
            null or "float32" => DType.Float32,
            "float64" => DType.Float64,
            "bfloat16" or "bf16" => DType.BFloat16,
            var v => throw new ArgumentException($"{command}: --dtype must be float32, float64 or bfloat16, got '{v}'"),
        };
        if (dt == DType.BFloat16 && device.Kind != DeviceKind.Cuda)
            throw new ArgumentException($"{command}: --dtype bfloat16 needs --device cuda (the CPU kernels are float32 and float64), got {device}");
        return dt;
    }

    /// <summary>
    /// bfloat16 storage covers the ops of the LightNet attention, norms, MLP and loss; MD-TPE (Toeplitz) and MD-LRPE have
    /// float32/float64 kernels only, so a bfloat16 run must turn them off.
    /// </summary>
    public static void RequireBf16Encodings(DType dtype, bool tpe, bool lrpe, string command)
    {
        if (dtype != DType.BFloat16 || (!tpe && !lrpe)) return;
        throw new ArgumentException($"{command}: --dtype bfloat16 has no MD-TPE or MD-LRPE kernels (float32/float64 only){(tpe ? "; TPE is on" : "")}{(lrpe ? "; LRPE is on" : "")}: " +
            "add --tpe off --lrpe off, or train in float32");
    }

    /// <summary>Runs the loop under a progress bar (loss, throughput, ETA), then draws loss.png and reports how the run ended.</summary>
    public static TrainResult WithProgress(RunOptions run, ITrainingTask task, string unit)
    {
        using var collective = run.Collective;
        if (!run.IsRoot) return TrainingLoop.Run(run, task); // rank 0 reports for the job
        TrainResult result = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var bar = ctx.AddTask("training", maxValue: run.Steps);
                result = TrainingLoop.Run(run, task, p =>
                {
                    bar.Value = p.Step;
                    bar.Description = $"step {p.Step}/{p.Total} loss {p.Loss:F4} {p.ItemsPerSecond:F0} {unit}/s";
                });
            });
        try
        {
            if (LossPlot.Write(run.OutDir) is { } png) AnsiConsole.MarkupLine($"loss curve: {Markup.Escape(png)}");
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            AnsiConsole.MarkupLine($"[yellow]no loss plot[/]: the plotting library could not load its native part ({Markup.Escape(e.Message)})");
        }
        if (!result.Finished)
            AnsiConsole.MarkupLine($"stopped after step {result.StepsDone} (checkpoint in {Markup.Escape(TrainingCheckpoint.PathIn(run.OutDir))}); continue with --resume");
        else
        {
            var metrics = string.Join(", ", result.Metrics.Select(kv => $"{kv.Key} [bold]{kv.Value:G5}[/]"));
            AnsiConsole.MarkupLine($"[green]done[/]: {result.StepsDone} steps, last loss {result.LastLoss:F4}{(metrics.Length > 0 ? ", " + metrics : "")}");
            AnsiConsole.MarkupLine($"model: {Markup.Escape(Path.Combine(run.OutDir, "model.safetensors"))}, metrics: {Markup.Escape(Path.Combine(run.OutDir, "metrics.jsonl"))}");
        }
        return result;
    }
}
