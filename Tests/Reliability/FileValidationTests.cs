using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Tests.Reliability;

/// <summary>
/// Regression tests of the readers' validation: each case is a crash, a silent acceptance or an absurd allocation
/// that the fuzzer (<see cref="FuzzTests"/>) or the issue found, now a named <see cref="InvalidDataException"/>.
/// </summary>
[Category("Reliability")]
public class FileValidationTests
{
    private TempDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    private const string Lm = """{"vocab_size": 64, "hidden_size": 16, "num_hidden_layers": 2, "num_heads": 2, "gate_low_rank_dim": 4, "intermediate_size": 32}""";
    private const string Cls = """{"in_channels": 1, "image_height": 8, "image_width": 8, "patch_size": 2, "num_classes": 4, "hidden_size": 16, "num_hidden_layers": 2, "num_heads": 2, "gate_low_rank_dim": 4, "tpe_rpe_dim": 4, "tpe_rpe_layers": 1, "norm_eps": 1e-6}""";
    private const string Mlm = """{"vocab_size": 64, "mask_token_id": 63, "hidden_size": 16, "num_hidden_layers": 2, "num_heads": 2, "gate_low_rank_dim": 4, "tpe_rpe_dim": 4, "tpe_rpe_layers": 1, "norm_eps": 1e-6}""";
    private const string Dit = """{"in_channels": 1, "image_height": 8, "image_width": 8, "patch_size": 2, "num_classes": 4, "hidden_size": 16, "num_hidden_layers": 2, "num_heads": 2, "gate_low_rank_dim": 4, "tpe_rpe_dim": 4, "tpe_rpe_layers": 1}""";

    private static string With(string json, string key, string rawValue)
    {
        var o = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        o[key] = "__RAW__";
        return o.ToJsonString().Replace("\"__RAW__\"", rawValue, StringComparison.Ordinal);
    }

    private static void Read(string kind, string json)
    {
        switch (kind)
        {
            case "lm": LightNetConfig.FromJson(json, "x/config.json"); break;
            case "mlm": MaskedLMConfig.FromJson(json, "x/config.json"); break;
            case "classifier": ImageClassifierConfig.FromJson(json, "x/config.json"); break;
            default: DiTConfig.FromJson(json, "x/config.json"); break;
        }
    }

    private static string Seed(string kind) => kind switch { "lm" => Lm, "mlm" => Mlm, "classifier" => Cls, _ => Dit };

    [TestCase("lm"), TestCase("mlm"), TestCase("classifier"), TestCase("dit")]
    public void ValidSeedConfigsLoad(string kind) => Read(kind, Seed(kind));

    // The key and the value that used to crash later (ArgumentException, DivideByZero, OutOfMemory) or load silently.
    [TestCase("lm", "num_heads", "0", "num_heads")]
    [TestCase("lm", "num_heads", "3", "does not divide")]
    [TestCase("lm", "hidden_size", "1e30", "hidden_size")]               // was saturated to int.MinValue
    [TestCase("lm", "hidden_size", "2147483647", "hidden_size")]
    [TestCase("lm", "vocab_size", "-5", "vocab_size")]
    [TestCase("lm", "vocab_size", "1000000", "parameters")]             // with hidden_size 2^20: 2·10^12 embedding parameters
    [TestCase("lm", "num_hidden_layers", "0", "num_hidden_layers")]
    [TestCase("lm", "norm_eps", "0", "norm_eps")]
    [TestCase("lm", "norm_eps", "\"NaN\"", "norm_eps")]
    [TestCase("mlm", "hidden_ratio", "1e300", "hidden_ratio")]
    [TestCase("lm", "hidden_ratio", "1e400", "hidden_ratio")]           // unused (intermediate_size is set) but infinite: loaded, then ToJson threw ArgumentException
    [TestCase("lm", "lrpe_base", "-1e400", "lrpe_base")]
    [TestCase("lm", "model_type", "\"\\ud800\"", "model_type")]        // a lone surrogate escaped as InvalidOperationException
    [TestCase("lm", "tokenizer", "\"\\udfff\"", "tokenizer")]
    [TestCase("mlm", "mask_token_id", "64", "mask_token_id")]
    [TestCase("mlm", "num_heads", "0", "num_heads")]
    [TestCase("classifier", "patch_size", "3", "patch_size")]
    [TestCase("classifier", "patch_size", "0", "patch_size")]
    [TestCase("classifier", "num_classes", "0", "num_classes")]
    [TestCase("classifier", "hidden_size", "4.5", "hidden_size")]
    [TestCase("dit", "timestep_embedding_dim", "15", "timestep_embedding_dim")]
    [TestCase("dit", "beta_end", "1.5", "beta_end")]
    [TestCase("dit", "diffusion_steps", "0", "diffusion_steps")]
    public void BadConfigValueIsANamedError(string kind, string key, string raw, string expect)
    {
        var json = With(Seed(kind), key, raw);
        if (key == "vocab_size" && raw == "1000000") json = With(json, "hidden_size", "1048576").Replace("\"num_heads\":2", "\"num_heads\":1", StringComparison.Ordinal);
        var e = Assert.Throws<InvalidDataException>(() => Read(kind, json));
        Assert.That(e!.Message, Does.StartWith("x/config.json"));
        Assert.That(e.Message, Does.Contain(expect));
    }

    [TestCase("lm"), TestCase("mlm"), TestCase("classifier"), TestCase("dit")]
    public void DuplicateConfigKeyIsANamedError(string kind)
    {
        // Was an ArgumentException ("An item with the same key has already been added") from JsonObject.
        var json = Seed(kind).Replace("\"hidden_size\": 16", "\"hidden_size\": 16, \"hidden_size\": 32", StringComparison.Ordinal);
        var e = Assert.Throws<InvalidDataException>(() => Read(kind, json));
        Assert.That(e!.Message, Does.StartWith("x/config.json").And.Contain("hidden_size"));
    }

    private string Run(string progressJson)
    {
        var run = Path.Combine(_dir.Path, "run" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(TrainingCheckpoint.PathIn(run));
        File.WriteAllText(Path.Combine(TrainingCheckpoint.PathIn(run), "progress.json"), progressJson);
        return run;
    }

    [TestCase("""{"Step":999,"TotalSteps":40,"DataSeed":7}""", "'Step' is 999")]
    [TestCase("""{"Step":-1,"TotalSteps":40,"DataSeed":7}""", "'Step' is -1")]
    [TestCase("""{"Step":1,"TotalSteps":-40,"DataSeed":7}""", "'TotalSteps' is -40")]
    [TestCase("""{"Step":1,"TotalSteps":40,"DataSeed":7,"MetricsRecords":-2}""", "'MetricsRecords' is -2")]
    [TestCase("""{"TotalSteps":40,"DataSeed":7}""", "Step")]                 // was read as step 0
    [TestCase("""{"Step":1,"TotalSteps":40}""", "DataSeed")]
    [TestCase("""{"Step":1.5,"TotalSteps":40,"DataSeed":7}""", "malformed")]
    [TestCase("null", "empty")]
    public void BadProgressIsANamedError(string json, string expect)
    {
        var run = Run(json);
        var e = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.ReadProgress(run));
        Assert.That(e!.Message, Does.Contain("progress.json").And.Contain(expect));
    }

    [Test]
    public void ProgressOfAFinishedRunReads() =>
        Assert.That(TrainingCheckpoint.ReadProgress(Run("""{"Step":40,"TotalSteps":40,"DataSeed":7,"MetricsRecords":null}""")), Is.EqualTo(new TrainingProgress(40, 40, 7)));

    [Test]
    public void TinyGzipClaimingAHugeIdxAllocatesLittle()
    {
        // 2^30 elements claimed by a ~60-byte file: the reader used to allocate the whole gigabyte before reading.
        var raw = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(raw, Idx.ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(4), 1 << 10);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(8), 1 << 10);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(12), 1 << 10);
        var path = _dir.File("huge.idx.gz");
        using (var f = File.Create(path))
        using (var gz = new GZipStream(f, CompressionLevel.Fastest)) gz.Write(raw);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path, out _, out _, out _));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(1 << 20));
        Assert.That(e!.Message, Does.StartWith(path).And.Contain("truncated IDX data"));
    }

    [Test]
    public void RawIdxReads()
    {
        var raw = new byte[4 + 12 + 2 * 3 * 4];
        BinaryPrimitives.WriteInt32BigEndian(raw, Idx.ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(4), 2);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(8), 3);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(12), 4);
        for (int i = 16; i < raw.Length; i++) raw[i] = (byte)i;
        var path = _dir.File("raw-idx");
        File.WriteAllBytes(path, raw);
        Assert.That(Idx.ReadImages(path, out int n, out int rows, out int cols), Is.EqualTo(raw[16..]));
        Assert.That((n, rows, cols), Is.EqualTo((2, 3, 4)));
        File.WriteAllBytes(path, raw[..^1]);
        Assert.That(() => Idx.ReadImages(path, out _, out _, out _), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("need 24 data bytes, the file has 23"));
    }

    private static string Tokenizer(string vocabJson, string added = "[]") =>
        "{\"version\":\"1.0\",\"added_tokens\":" + added + ",\"model\":{\"type\":\"BPE\",\"vocab\":" + vocabJson + ",\"merges\":[]}}";

    [TestCase("""{"a":0,"b":2147483647}""", "[]", "2147483647")]                          // the vocabulary size overflowed to a negative number
    [TestCase("""{"a":0,"b":1}""", """[{"id":0.5,"content":"zz","special":true}]""", "0.5")] // GetInt64 threw FormatException
    public void BadTokenizerIdIsANamedError(string vocab, string added, string expect)
    {
        var path = _dir.File("tokenizer.json");
        File.WriteAllText(path, Tokenizer(vocab, added));
        var e = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(path));
        Assert.That(e!.Message, Does.Contain(expect));
    }
}
