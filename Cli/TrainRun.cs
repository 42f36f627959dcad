using System.Text.Json;
using LightNet.Cli.CommandLine;
using LightNet.Models.Data;
using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary>
/// What every <c>lightnet train</c> task shares: the run's options from the common flags, the resume rules around
/// <c>training_config.json</c>, and the progress display around <see cref="TrainingLoop"/>.
/// </summary>
internal static class TrainRun
{
    /// <summary>
    /// The run's options, or null when <c>--resume</c> finds the run already finished (said on the console; nothing is
    /// changed). On <c>--resume</c> with a checkpoint, the recorded configuration supplies every flag the command line
    /// leaves out, and a flag given with another value than recorded is an error, except the ones that change neither data
    /// nor arithmetic (<see cref="Flags.FreeOnResume{T}"/>). Without <c>--resume</c>, a folder that holds a checkpoint is
    /// an error. All of this happens before any data is loaded. In a data-parallel rank, joins the job (<see cref="Launcher"/>).
    /// </summary>
    public static RunOptions? Begin(Args a, long? itemsPerEpoch)
    {
        var outDir = a.String("--out");
        bool resume = a.Flag("--resume");
        if (TrainingCheckpoint.Exists(outDir))
        {
            if (!resume) throw a.Error($"{outDir} already holds a checkpoint; pass --resume to continue it or choose another --out");
            if (TrainingConfigFile.Read(outDir) is { } recorded)
            {
                CheckAgainstRecord(a, recorded, outDir);
                a.Recorded = recorded;
            }
            if (TrainingCheckpoint.IsFinished(outDir, ema: a.OptDouble("--ema") != null))
            {
                if (!Launcher.IsRank || Launcher.IsRootRank)
                    Console.WriteLine($"{a.Command}: {outDir} finished all {TrainingCheckpoint.ReadProgress(outDir).TotalSteps} steps already; nothing to do (model: {Path.Combine(outDir, "model.safetensors")})");
                return null;
            }
        }
        var (collective, rankDevice) = Launcher.Join(Launcher.Read(a));
        if (a.Flag("--detect-anomaly")) LightNet.Autograd.AnomalyMode.Enabled = true;
        int batch = a.Int("--batch-size"), accum = a.Int("--grad-accum");
        long? epochs = itemsPerEpoch != null ? a.OptLong("--epochs") : null;
        if (epochs != null && a.Given("--steps")) throw a.Error("give --steps or --epochs, not both");
        long steps = epochs is long ep ? Math.Max(1, ep * (itemsPerEpoch!.Value / ((long)batch * accum))) : a.Long("--steps");
        var run = new RunOptions
        {
            OutDir = outDir,
            Steps = steps,
            StopAfter = a.OptLong("--stop-after"),
            BatchSize = batch,
            GradAccumulation = accum,
            Lr = a.Double("--lr"),
            WarmupSteps = a.OptLong("--warmup"),
            WeightDecay = a.Double("--weight-decay"),
            ClipNorm = a.Double("--clip"),
            EmaDecay = a.OptDouble("--ema"),
            Seed = a.Seed(),
            Resume = resume,
            CheckpointEvery = a.Int("--checkpoint-every"),
            EvalEvery = a.OptInt("--eval-every"),
            Device = rankDevice ?? DeviceOption.Resolve(a.Command, a.String("--device")),
            Collective = collective,
        };
        run.Validate();
        return run;
    }

    private static void CheckAgainstRecord(Args a, IReadOnlyDictionary<string, JsonElement> recorded, string outDir)
    {
        var file = TrainingConfigFile.PathIn(outDir);
        if (recorded.TryGetValue("command", out var cmd) && cmd.ValueKind == JsonValueKind.String && cmd.GetString() != a.Command)
            throw a.Error($"{outDir} is a '{cmd.GetString()}' run ({file}); resume it with 'lightnet {cmd.GetString()} --resume --out {outDir}'");
        foreach (var o in a.Options)
        {
            if (!a.Given(o.Name) || Flags.MayChangeOnResume(o) || !recorded.TryGetValue(Args.Key(o.Name), out var was)) continue;
            var now = JsonSerializer.Serialize(Flags.Read(o, a.Parse));
            if (now != was.GetRawText())
                throw a.Error($"{o.Name} {now.Trim('"')} conflicts with the run's recorded {Args.Key(o.Name)} {was.GetRawText().Trim('"')} ({file}); " +
                    "leave it out to continue the run as it was, or start a new run with another --out");
        }
    }

    /// <summary>
    /// <paramref name="run"/> with the training configuration to record in <c>training_config.json</c> (written by the
    /// training loop under the run folder's lock; a resumed run keeps its record): every flag of the command with its
    /// effective value, and <paramref name="extra"/> (e.g. the dtype of tasks without a --dtype flag).
    /// </summary>
    public static RunOptions Record(Args a, RunOptions run, IReadOnlyDictionary<string, object?>? extra = null)
    {
        if (!run.IsRoot || a.Recorded != null) return run;
        var values = new Dictionary<string, object?>();
        foreach (var o in a.Options) values[Args.Key(o.Name)] = Flags.Read(o, a.Parse);
        values["command"] = a.Command;
        values["task"] = a.Command.Split(' ')[^1];
        values["steps"] = run.Steps;
        values["warmup"] = run.Warmup;
        values["threads"] = Parallelism.Threads;
        values["world_size"] = run.WorldSize;
        foreach (var (k, v) in extra ?? new Dictionary<string, object?>()) values[k] = v;
        return run with { TrainingConfig = values };
    }

    /// <summary><c>--hidden</c> and <c>--heads</c>, checked that the heads divide the width.</summary>
    public static (int Hidden, int Heads) Width(Args a)
    {
        int hidden = a.Int("--hidden"), heads = a.Int("--heads");
        if (hidden % heads != 0) throw a.Error($"--hidden {hidden} must be a multiple of --heads {heads}");
        return (hidden, heads);
    }

    /// <summary>
    /// The <c>--tokenizer</c> of a text task: <c>byte</c>, <c>gpt2</c> or a tokenizer.json; a resumed run reads the copy
    /// kept in its directory (the original file may have moved or changed since).
    /// </summary>
    public static ITextTokenizer Tokenizer(Args a, RunOptions run)
    {
        var spec = a.String("--tokenizer");
        return a.Recorded != null && !TextTokenizers.Names.Contains(spec)
            ? TextTokenizers.ForRun(run.OutDir, TextTokenizers.RunFileName)
            : TextTokenizers.Create(spec);
    }

    /// <summary>Fashion-MNIST's train and test splits, fetched into the cache first when missing.</summary>
    public static (IImageDataset Train, IImageDataset Test) FashionMnist() =>
        (LightNet.Models.Data.FashionMnist.LoadOrFetch(true, log: Console.Out), LightNet.Models.Data.FashionMnist.LoadOrFetch(false, log: Console.Out));

    /// <summary>
    /// <c>--dtype float32|float64|bfloat16</c> of the weights and activations (tasks fed with token ids). bfloat16 (storage, float32
    /// arithmetic inside the kernels) needs a CUDA device.
    /// </summary>
    public static DType ModelDType(Args a, Device device)
    {
        var dt = DTypeInfo.Parse(a.String("--dtype"));
        if (dt == DType.BFloat16 && device.Kind != DeviceKind.Cuda)
            throw a.Error($"--dtype bfloat16 needs --device cuda (the CPU kernels are float32 and float64), got {device}");
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

    /// <summary>
    /// Runs the loop with progress (a live bar on a terminal; otherwise a line at every tenth of the run or minute,
    /// with the ETA), then draws loss.png and reports how the run ended.
    /// </summary>
    public static TrainResult WithProgress(RunOptions run, ITrainingTask task, string unit)
    {
        using var collective = run.Collective;
        if (!run.IsRoot) return TrainingLoop.Run(run, task); // rank 0 reports for the job
        TrainResult result = null!;
        string Line(TrainProgressInfo p) => $"step {p.Step}/{p.Total} loss {p.Loss:F4} {p.ItemsPerSecond:F0} {unit}/s";
        if (AnsiConsole.Profile.Capabilities.Interactive)
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var bar = ctx.AddTask("training", maxValue: run.Steps);
                    result = TrainingLoop.Run(run, task, p =>
                    {
                        bar.Value = p.Step;
                        bar.Description = Line(p);
                    });
                });
        else
        {
            var report = new ProgressLines(run.Steps);
            result = TrainingLoop.Run(run, task, p => report.Report(p.Step, $"{Line(p)}, eta {ProgressLines.Format(p.Eta)}"));
        }
        if (result.FinishedBefore)
        {
            Console.WriteLine($"{run.OutDir} finished all {run.Steps} steps already; nothing to do");
            return result;
        }
        try
        {
            if (LossPlot.Write(run.OutDir, task.LossName) is { } png) AnsiConsole.MarkupLine($"loss curve: {Markup.Escape(png)}");
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
