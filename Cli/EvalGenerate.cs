using System.Text.Json;
using LightNet.Models.Diffusion;
using LightNet.Models.Evaluation;
using LightNet.Models.Training;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary>
/// <c>lightnet eval generate --run DIR --classifier DIR [--samples N --steps N --guidance W --seed S --device D]</c>:
/// classifier accuracy on class-conditional DiT samples and Fréchet distances (classifier features) with two references.
/// </summary>
internal static class EvalGenerate
{
    public static int Run(string[] args)
    {
        var o = new Options("eval generate", args, new HashSet<string> { "--no-ema" });
        var dir = o.String("--run") ?? Path.Combine("runs", "generate");
        var clfDir = o.String("--classifier") ?? Path.Combine("runs", "classify");
        var device = DeviceOption.Resolve("eval generate", o.String("--device"));
        if (o.Int("--threads") is int th) Parallelism.Threads = th;
        int n = o.Int("--samples") ?? 5000;
        int steps = o.Int("--steps") ?? 50;
        double guidance = o.Double("--guidance") ?? 5.0; // the scale at which samples meet the 70 % classifier bar (docs/results.md)
        double eta = o.Double("--eta") ?? 0;
        ulong seed = (ulong)(o.Long("--seed") ?? 0);
        bool ema = !o.Flag("--no-ema");
        o.RejectUnknown();
        var dit = ImageSampling.LoadRun(dir, device, ema);
        var clf = ClassifierTraining.LoadRun(clfDir, device);
        var (train, test) = TrainRun.FashionMnist();
        var sampler = ImageSampling.Sampler(dit, steps, guidance, eta);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        GenerationScores s = null!;
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()).Start(ctx =>
        {
            var bar = ctx.AddTask($"sampling {n} images (DDIM {steps}, guidance {guidance})", maxValue: n);
            s = GenerationEvaluation.Run(dit, clf, train, test, n, sampler, seed, device, done => bar.Value = done);
        });
        Console.WriteLine($"run {dir}, classifier {clfDir} (its test accuracy {s.ClassifierTestAccuracy:P2}); {n} samples, DDIM {steps} steps, η {eta}, guidance {guidance}, seed {seed}, {(ema ? "EMA" : "raw")} weights, {sw.Elapsed.TotalSeconds:F0} s");
        Console.WriteLine($"classifier accuracy on class-conditional samples: {s.SampleAccuracy:P2}");
        Console.WriteLine($"Fréchet distance (classifier features, a proxy of FID) to the {test.Count} test images:");
        Console.WriteLine($"  {n} samples        {s.FdSamples:F3}");
        Console.WriteLine($"  {n} train images   {s.FdTrain:F3}   (reference: real data)");
        Console.WriteLine($"  {n} noise images   {s.FdNoise:F3}   (reference: pure noise)");
        var report = new Dictionary<string, object>
        {
            ["classifier"] = clfDir,
            ["samples"] = n,
            ["ddim_steps"] = steps,
            ["guidance"] = guidance,
            ["eta"] = eta,
            ["seed"] = seed,
            ["ema"] = ema,
            ["sample_accuracy"] = s.SampleAccuracy,
            ["classifier_test_accuracy"] = s.ClassifierTestAccuracy,
            ["fd_samples"] = s.FdSamples,
            ["fd_train"] = s.FdTrain,
            ["fd_noise"] = s.FdNoise,
            ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 1),
        };
        var path = Path.Combine(dir, "eval_generate.json");
        File.WriteAllText(path, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"written {path}");
        return 0;
    }
}
