using System.Globalization;
using LightNet.Cli;
using LightNet.Models.Data;
using LightNet.Models.Training;

namespace LightNet.Tests;

/// <summary>
/// <c>train video</c> / <c>eval video</c> and the <c>--mixer</c> of <c>train classify</c> / <c>train generate</c> end to
/// end on a tiny fake Fashion-MNIST cache (synthetic IDX files; no network).
/// </summary>
[NonParallelizable]
public class VideoCommandTests
{
    private TempDir _cache = null!;
    private string? _oldEnv;

    [OneTimeSetUp]
    public void FakeCache()
    {
        _cache = new TempDir();
        var dir = new DataCache(_cache.Path).FashionMnistDir;
        Directory.CreateDirectory(dir);
        foreach (var (prefix, n) in new[] { ("train", 24), ("t10k", 12) })
        {
            var img = new byte[n * 28 * 28];
            for (int i = 0; i < img.Length; i++) img[i] = (byte)((i * 13 + i / 784 * 71) % 256);
            var lbl = Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
            Idx.Write(Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz"), Idx.ImagesMagic, [n, 28, 28], img);
            Idx.Write(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz"), Idx.LabelsMagic, [n], lbl);
        }
        _oldEnv = Environment.GetEnvironmentVariable(DataCache.EnvVar);
        Environment.SetEnvironmentVariable(DataCache.EnvVar, _cache.Path);
    }

    [OneTimeTearDown]
    public void Restore()
    {
        Environment.SetEnvironmentVariable(DataCache.EnvVar, _oldEnv);
        _cache.Dispose();
    }

    private static (int Rc, string Out, string Err) Cli(params string[] args) => CliHarness.Run(args);

    private static double FinalMetric(string dir, string key) => CliHarness.FinalMetric(dir, key);

    /// <summary>4 frames of 32×32 in 2×8×8 tubelets: a 2×4×4 grid of 32 tokens.</summary>
    private static readonly string[] TinyVideo =
        ["--frames", "4", "--size", "32", "--tubelet", "2", "--patch", "8", "--hidden", "8", "--layers", "1", "--heads", "2", "--gate-rank", "2",
         "--steps", "2", "--batch-size", "2", "--eval-clips", "5", "--threads", "1"];

    private static readonly string[] TinyImage =
        ["--patch", "7", "--hidden", "8", "--layers", "1", "--heads", "2", "--gate-rank", "2", "--steps", "2", "--batch-size", "4", "--threads", "1"];

    [TestCase("lightnet", "tpe\": true", "lrpe\": true")]
    [TestCase("gla", "tpe\": false", "lrpe\": false")]
    [TestCase("softmax", "tpe\": false", "lrpe\": false")]
    public void TrainVideoThenEvalReadsTheRunBack(string mixer, string tpe, string lrpe)
    {
        using var run = new TempDir();
        var train = Cli(["train", "video", "--mixer", mixer, .. TinyVideo, "--out", run.Path]);
        Assert.That(train.Rc, Is.EqualTo(0), train.Err + train.Out);
        Assert.That(train.Out, Does.Contain("evaluation on the first 5 of 12 test clips"));
        var config = File.ReadAllText(run.File("config.json"));
        Assert.That(config, Does.Contain($"\"mixer\": \"{mixer}\"").And.Contain("\"num_frames\": 4").And.Contain(tpe).And.Contain(lrpe));
        Assert.That(TrainingConfigFile.TaskOf(run.Path), Is.EqualTo("video"));
        var acc = FinalMetric(run.Path, "test_accuracy");
        var eval = Cli("eval", "video", "--run", run.Path, "--clips", "5", "--threads", "1");
        Assert.That(eval.Rc, Is.EqualTo(0), eval.Err);
        Assert.That(eval.Out, Does.Contain($"test accuracy {acc.ToString("P2", CultureInfo.InvariantCulture)} on the first 5 of 12").And.Contain($"{mixer} mixer"));
        var other = Cli("eval", "video", "--run", run.Path, "--clips", "12", "--data-seed", "7", "--threads", "1");
        Assert.That(other.Rc, Is.EqualTo(0), other.Err);
        Assert.That(other.Out, Does.Contain("on the first 12 of 12").And.Contain("data seed 7"));
    }

    [Test]
    public void TrainVideoResumesBitwise()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var tiny = TinyVideo.ToList();
        tiny[tiny.IndexOf("--steps") + 1] = "4";
        string[] args = ["train", "video", "--mixer", "gla", "--garments", "2", .. tiny, "--checkpoint-every", "2"];
        Assert.That(Cli([.. args, "--out", a.Path]).Rc, Is.EqualTo(0));
        Assert.That(Cli([.. args, "--out", b.Path, "--stop-after", "2"]).Rc, Is.EqualTo(0));
        var resumed = Cli("train", "video", "--resume", "--out", b.Path);
        Assert.That(resumed.Rc, Is.EqualTo(0), resumed.Err);
        Assert.That(File.ReadAllBytes(b.File("model.safetensors")), Is.EqualTo(File.ReadAllBytes(a.File("model.safetensors"))));
    }

    [TestCase("gla")]
    [TestCase("softmax")]
    public void TrainClassifyWithABaselineMixerThenEval(string mixer)
    {
        using var run = new TempDir();
        var train = Cli(["train", "classify", "--mixer", mixer, .. TinyImage, "--out", run.Path]);
        Assert.That(train.Rc, Is.EqualTo(0), train.Err + train.Out);
        Assert.That(File.ReadAllText(run.File("config.json")), Does.Contain($"\"mixer\": \"{mixer}\"").And.Contain("\"lrpe\": false"));
        var eval = Cli("eval", "classify", "--run", run.Path);
        Assert.That(eval.Rc, Is.EqualTo(0), eval.Err);
        Assert.That(eval.Out, Does.Contain($"test accuracy {FinalMetric(run.Path, "test_accuracy").ToString("P2", CultureInfo.InvariantCulture)} on 12"));
    }

    [Test]
    public void TrainGenerateWithTheGlaMixerThenSample()
    {
        using var run = new TempDir();
        var train = Cli(["train", "generate", "--mixer", "gla", .. TinyImage, "--sample-steps", "2", "--per-class", "1", "--out", run.Path]);
        Assert.That(train.Rc, Is.EqualTo(0), train.Err + train.Out);
        Assert.That(File.ReadAllText(run.File("config.json")), Does.Contain("\"mixer\": \"gla\""));
        var sample = Cli("sample", "image", "--run", run.Path, "--steps", "2", "--per-class", "1", "--threads", "1");
        Assert.That(sample.Rc, Is.EqualTo(0), sample.Err);
        Assert.That(File.Exists(run.File("sample-1.png")), Is.True);
    }

    [TestCase(new[] { "train", "video", "--mixer", "mamba" }, "'mamba' not recognized. Must be one of: 'lightnet' 'gla' 'softmax'")]
    [TestCase(new[] { "train", "classify", "--mixer", "rnn" }, "'rnn' not recognized. Must be one of: 'lightnet' 'gla' 'softmax'")]
    [TestCase(new[] { "train", "video", "--mixer", "gla", "--lrpe", "on" }, "--lrpe on is LightNet's encoding")]
    [TestCase(new[] { "train", "video", "--size", "30" }, "frame size 30 leaves the 28-pixel garment less room than its speed 3")]
    [TestCase(new[] { "train", "video", "--garments", "3" }, "garments must be 1 or 2, got 3")]
    [TestCase(new[] { "train", "video", "--tubelet", "3" }, "--tubelet 3 must divide --frames 16")]
    [TestCase(new[] { "train", "video", "--patch", "5" }, "--patch 5 must divide --size 64")]
    [TestCase(new[] { "eval", "video", "--run", "/nonexistent/run" }, "--run /nonexistent/run: no such run directory")]
    [TestCase(new[] { "eval", "video", "--clips", "0" }, "--clips must be at least 1, got 0")]
    public void BadVideoFlagsGiveClearErrors(string[] args, string message)
    {
        var r = Cli(args);
        Assert.That(r.Rc, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain(message));
        Assert.That(r.Err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line");
    }
}
