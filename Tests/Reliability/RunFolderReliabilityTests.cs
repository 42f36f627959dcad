using System.Diagnostics;
using System.Text.Json;
using LightNet.IO;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Tests.Reliability;

/// <summary>A training run folder survives a full disk at any write, a torn metrics line, and a second writer.</summary>
[Category("Reliability")]
public class RunFolderReliabilityTests
{
    private static readonly ImageClassifierConfig TinyModel = new() { InChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 8, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 4, NumClasses = 4, TpeRpeDim = 8, IntermediateSize = 16 };

    private static readonly ArrayImageDataset Data = TrainingTests.Synthetic(32, 3);

    private static RunOptions Options(string dir) => new()
    {
        OutDir = dir,
        Steps = 4,
        BatchSize = 8,
        CheckpointEvery = 2,
        LogEvery = 1,
        EvalEvery = 2,
        EmaDecay = 0.9,
        Seed = 11,
    };

    private static TrainResult Train(RunOptions o) => TrainingLoop.Run(o, new ClassifierTask(TinyModel, o, Data, Data));

    /// <summary>The metrics records without the timing field (which differs between runs).</summary>
    private static List<string> Records(string dir) =>
        new MetricsLog(dir).Read().Select(r => string.Join(",", r.Where(kv => kv.Key != "items_per_s").OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value.GetRawText()))).ToList();

    private static void AssertSameRun(string expected, string actual, string because)
    {
        foreach (var f in new[] { "model.safetensors", "model_ema.safetensors", "config.json" })
            Assert.That(File.ReadAllBytes(Path.Combine(actual, f)), Is.EqualTo(File.ReadAllBytes(Path.Combine(expected, f))), $"{f} {because}");
        Assert.That(Records(actual), Is.EqualTo(Records(expected)), $"metrics.jsonl {because}");
    }

    [Test]
    public void FullDiskAtEveryWriteLeavesTheRunResumable() => TrainingTests.WithDirs((a, b) =>
    {
        var written = new List<string>();
        using (FaultInjection.Install(p => { written.Add(Path.GetRelativePath(a, p)); return false; }))
            Assert.That(Train(Options(a)).Finished, Is.True);
        // Every kind of file a run writes is a fault point.
        Assert.That(written, Has.Some.EqualTo("metrics.jsonl"));
        Assert.That(written, Has.Some.EqualTo("config.json"));
        Assert.That(written, Has.Some.EqualTo("model.safetensors"));
        Assert.That(written, Has.Some.EqualTo("model_ema.safetensors"));
        foreach (var f in new[] { "model.safetensors", "optimizer.safetensors", "ema.safetensors", "progress.json", "manifest.json" })
            Assert.That(written, Has.Some.EqualTo(Path.Combine("checkpoint.tmp", f)));
        // config.json, 4 log records, 1 periodic evaluation record, 2 checkpoints of 5 files, the final evaluation record, model, config, EMA.
        Assert.That(written, Has.Count.EqualTo(20), string.Join(", ", written));
        for (int k = 0; k < written.Count; k++)
        {
            if (Directory.Exists(b)) Directory.Delete(b, true);
            int n = 0;
            int fault = k;
            using (FaultInjection.Install(_ => n++ == fault))
            {
                var e = Assert.Throws<IOException>(() => Train(Options(b)), $"write {k} ({written[k]})");
                Assert.That(e!.Message, Does.Contain("No space left"));
            }
            // The disk is still full when the run is first resumed: its first write fails too.
            int m = 0;
            using (FaultInjection.Install(_ => m++ == 0))
                Assert.Throws<IOException>(() => Train(Options(b) with { Resume = true }), $"resume after write {k} ({written[k]})");
            var r = Train(Options(b) with { Resume = true });
            Assert.That(r.Finished, Is.True, $"write {k} ({written[k]})");
            AssertSameRun(a, b, $"after a full disk at write {k} ({written[k]}) and a resume");
        }
    });

    [Test]
    public void RealNoSpaceErrorFromTheOperatingSystemLeavesTheRunResumable() => TrainingTests.WithDirs((a, b) =>
    {
        // /dev/full fails every write with ENOSPC: the temporary file of config.json, linked to it, meets a real full disk.
        if (!File.Exists("/dev/full")) Assert.Ignore("no /dev/full on this system");
        Train(Options(a));
        Directory.CreateDirectory(b);
        File.CreateSymbolicLink(Path.Combine(b, "config.json.tmp"), "/dev/full");
        var e = Assert.Throws<IOException>(() => Train(Options(b)));
        Assert.That(e!.Message, Does.Contain("No space left on device"));
        Assert.That(File.Exists(Path.Combine(b, "config.json.tmp")), Is.False, "the temporary file (here the link) is removed");
        Assert.That(Train(Options(b) with { Resume = true }).Finished, Is.True);
        AssertSameRun(a, b, "after a real ENOSPC and a resume");
    });

    /// <summary>
    /// A real small file system that fills during the run: a tmpfs of half the run's size (mounting needs root; the test
    /// is ignored where mount is refused), then grown, and the run resumed.
    /// </summary>
    [Test]
    public void RunOnAFullTmpfsResumesOnceSpaceIsFree() => TrainingTests.WithDirs((a, b) =>
    {
        Train(Options(a));
        long size = Directory.EnumerateFiles(a, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Directory.CreateDirectory(b);
        long half = Math.Max(4096, size / 2 / 4096 * 4096);
        if (!Mount(b, $"size={half}")) Assert.Ignore("mounting a tmpfs needs root (CAP_SYS_ADMIN); refused here");
        try
        {
            var e = Assert.Throws<IOException>(() => Train(Options(b)), $"a {half}-byte tmpfs holds half of the run's {size} bytes");
            Assert.That(e!.Message, Does.Contain("No space left on device"));
            Assert.That(Mount(b, $"remount,size={4 * size}"), Is.True, "the tmpfs grows");
            Assert.That(Train(Options(b) with { Resume = true }).Finished, Is.True);
            AssertSameRun(a, b, "after the file system filled and was grown");
        }
        finally { Run("umount", b); }
    });

    private static bool Mount(string dir, string options) =>
        Run("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir) == 0;

    private static int Run(string tool, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var x in args) psi.ArgumentList.Add(x);
        try
        {
            using var p = System.Diagnostics.Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception) { return -1; }
    }

    [Test]
    public void TornMetricsLineIsDroppedOnResume() => TrainingTests.WithDirs((a, b) =>
    {
        Train(Options(a));
        Train(Options(b) with { StopAfter = 2 });
        var log = Path.Combine(b, "metrics.jsonl");
        File.AppendAllText(log, "{\"step\":3,\"loss\":0.12");          // a torn append (no newline)
        Assert.That(new MetricsLog(b).Read(), Has.Count.EqualTo(3), "Read skips the torn last line");
        var r = Train(Options(b) with { Resume = true });
        Assert.That(r.Finished, Is.True);
        AssertSameRun(a, b, "after a torn line and a resume");
        Assert.That(File.ReadAllText(log), Does.Not.Contain("0.12\n").And.EndWith("\n"));
    });

    [Test]
    public void FinishedRunResumedKeepsItsLogAndLosesOnlyATornLine() => TrainingTests.WithDirs((a, _) =>
    {
        Train(Options(a));
        var log = Path.Combine(a, "metrics.jsonl");
        var before = File.ReadAllBytes(log);
        Assert.That(Train(Options(a) with { Resume = true }).FinishedBefore, Is.True);
        Assert.That(File.ReadAllBytes(log), Is.EqualTo(before), "the final evaluation's record and every other one kept");
        File.AppendAllText(log, "{\"step\":4,\"te");
        Assert.That(Train(Options(a) with { Resume = true }).FinishedBefore, Is.True);
        Assert.That(File.ReadAllBytes(log), Is.EqualTo(before), "only the torn line dropped");
    });

    [Test]
    public void UnterminatedButCompleteLastLineIsKeptAndTerminated() => TrainingTests.WithDirs((a, b) =>
    {
        Train(Options(a));
        Train(Options(b) with { StopAfter = 2 });
        var log = Path.Combine(b, "metrics.jsonl");
        File.WriteAllText(log, File.ReadAllText(log).TrimEnd('\n'));   // the crash cut exactly before the newline
        Train(Options(b) with { Resume = true });
        AssertSameRun(a, b, "after a resume");
    });

    [Test]
    public void RecordsLoggedAfterTheCheckpointAreDropped() => TrainingTests.WithDirs((a, b) =>
    {
        Train(Options(a));
        Train(Options(b) with { StopAfter = 2 });
        File.AppendAllText(Path.Combine(b, "metrics.jsonl"), "{\"step\":3,\"loss\":9}\n{\"step\":4,\"loss\":9}\n{\"step\":4,\"test_accuracy\":1}\n");
        Train(Options(b) with { Resume = true });
        AssertSameRun(a, b, "after a resume");
    });

    [TestCase("{\"step\":1,\"loss\":1}\nnot json\n{\"step\":2,\"loss\":1}\n", 2)]
    [TestCase("{\"step\":1,\"loss\":1}\n[1,2]\n{\"step\":2,\"loss\":1}\n", 2)]
    [TestCase("{\"step\":\"one\"}\n{\"step\":2,\"loss\":1}\n", 1)]
    [TestCase("{\"step\":1.5}\n{\"step\":2,\"loss\":1}\n", 1)]
    public void MalformedLineBeforeTheLastIsANamedError(string content, int line)
    {
        using var dir = new TempDir();
        var log = new MetricsLog(dir.Path);
        File.WriteAllText(log.Path, content);
        var e = Assert.Throws<InvalidDataException>(() => log.Read());
        Assert.That(e!.Message, Does.Contain(log.Path).And.Contain($"line {line} "));
        Assert.Throws<InvalidDataException>(() => log.TruncateAfter(5));
        Assert.That(File.ReadAllText(log.Path), Is.EqualTo(content), "a damaged log is not rewritten");
    }

    [TestCase("{\"step\":1,\"loss\":1}\n{\"step\":2,\"lo")]
    [TestCase("{\"step\":1,\"loss\":1}\n{\"step\":2,\"loss\":1}\n\0\0\0\0")]
    [TestCase("{\"step\":1,\"loss\":1}\n{\"st\u00e9")]
    [TestCase("{\"step\":1,\"loss\":1}\n{\"step\":2,\"loss\":1}\nnot json\n")]
    public void TornLastLineIsSkippedAndTruncatedAway(string content)
    {
        using var dir = new TempDir();
        var log = new MetricsLog(dir.Path);
        var bytes = System.Text.Encoding.UTF8.GetBytes(content);
        if (content.EndsWith('\u00e9')) bytes = bytes[..^1];   // a multi-byte character cut in half
        File.WriteAllBytes(log.Path, bytes);
        int expected = content.Count(c => c == '\n') - (content.EndsWith('\n') ? 1 : 0);
        Assert.That(log.Read(), Has.Count.EqualTo(Math.Max(1, expected)));
        log.TruncateAfter(10);
        Assert.That(log.Read().Select(r => r["step"].GetInt64()), Is.EqualTo(Enumerable.Range(1, log.Read().Count).Select(i => (long)i)));
        Assert.That(File.ReadAllText(log.Path), Does.EndWith("}\n").And.Not.Contain("\0").And.Not.Contain("not json"));
    }

    [Test]
    public void TruncateLeavesAnIntactLogUntouched()
    {
        using var dir = new TempDir();
        var log = new MetricsLog(dir.Path);
        File.WriteAllText(log.Path, "{\"step\":1,\"loss\":1}\n{\"step\":2,\"loss\":1}\n");
        var before = File.GetLastWriteTimeUtc(log.Path);
        File.SetLastWriteTimeUtc(log.Path, before.AddHours(-1));
        log.TruncateTo(2);
        Assert.That(File.GetLastWriteTimeUtc(log.Path), Is.EqualTo(before.AddHours(-1)));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1), "no temporary file left");
    }

    [Test]
    public void SecondWriterOfARunFolderGetsANamedError()
    {
        using var dir = new TempDir();
        using (var first = RunLock.Acquire(dir.Path))
        {
            var e = Assert.Throws<InvalidOperationException>(() => RunLock.Acquire(dir.Path).Dispose());
            Assert.That(e!.Message, Does.Contain($"{dir.Path} is in use by process {Environment.ProcessId}"));
            var t = Assert.Throws<InvalidOperationException>(() => Train(Options(dir.Path)));
            Assert.That(t!.Message, Does.Contain("is in use by process"));
            Assert.That(File.Exists(Path.Combine(dir.Path, "metrics.jsonl")), Is.False, "the second writer touched nothing");
        }
        using var again = RunLock.Acquire(dir.Path);
    }

    [Test]
    public void ConcurrentOpensOfOneFolderAdmitExactlyOne()
    {
        using var dir = new TempDir();
        var locks = new RunLock?[8];
        var errors = new Exception?[8];
        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            try { locks[i] = RunLock.Acquire(dir.Path); } catch (InvalidOperationException e) { errors[i] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.That(locks.Count(l => l != null), Is.EqualTo(1));
        Assert.That(errors.Count(e => e != null), Is.EqualTo(7));
        foreach (var l in locks) l?.Dispose();
    }

    [Test]
    public void StaleLockFileOfADeadProcessDoesNotBlock() => TrainingTests.WithDirs((a, _) =>
    {
        Directory.CreateDirectory(a);
        // A process that has exited: its pid is in the lock files, but no lock is held.
        using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        File.WriteAllText(Path.Combine(a, RunLock.FileName), $"{p.Id}\n");
        File.WriteAllText(Path.Combine(a, RunLock.PidFileName), $"{p.Id}\n");
        Assert.That(Train(Options(a) with { StopAfter = 1 }).StepsDone, Is.EqualTo(1));
        Assert.That(RunLock.HolderPid(a), Is.EqualTo(Environment.ProcessId), "the new holder recorded itself");
    });

    [Test]
    public void LockHeldByAnotherProcessBlocks()
    {
        if (!File.Exists("/usr/bin/flock")) Assert.Ignore("flock(1) is not installed");
        using var dir = new TempDir();
        var lockPath = Path.Combine(dir.Path, RunLock.FileName);
        File.WriteAllText(lockPath, "");
        using var child = Process.Start(new ProcessStartInfo("/usr/bin/flock", ["-x", lockPath, "-c", "echo held; sleep 30"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        try
        {
            Assert.That(child.StandardOutput.ReadLine(), Is.EqualTo("held"));
            var e = Assert.Throws<InvalidOperationException>(() => RunLock.Acquire(dir.Path).Dispose());
            Assert.That(e!.Message, Does.Contain("is in use by"));
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        // The lock dies with its processes (the killed tree may take a moment to go).
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try { RunLock.Acquire(dir.Path).Dispose(); break; }
            catch (InvalidOperationException) when (sw.Elapsed < TimeSpan.FromSeconds(10)) { Thread.Sleep(50); }
        }
    }
}
