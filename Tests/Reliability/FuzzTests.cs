using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Tests.Reliability;

/// <summary>
/// Seeded fuzzing of every file format the engine reads: safetensors, config.json (causal LM, masked LM, image
/// classifier, DiT), checkpoint progress.json, IDX (raw and gzipped) and tokenizer.json. Each case mutates a valid
/// seed file (byte flips, truncations at field boundaries, insertions, deletions, integer fields set to edge
/// values; for JSON also removed, duplicated and retyped keys, huge, negative and fractional numbers, NaN-ish
/// strings, deep nesting, long strings, invalid UTF-8 and lone surrogates) and reads it: the only outcomes
/// allowed are success and <see cref="InvalidDataException"/> (plus the exceptions an API documents), within a
/// per-case time limit and an allocation bound of a small multiple of the file size plus a constant.
/// <c>LIGHTNET_FUZZ_CASES=N</c> runs N cases per format (500 by default); every failure names the case seed,
/// which reproduces it alone (<see cref="Mutant"/>).
/// </summary>
[Category("Reliability")]
public class FuzzTests
{
    private const int DefaultCases = 500;
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(20);
    private TempDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    private static int Cases =>
        int.TryParse(Environment.GetEnvironmentVariable("LIGHTNET_FUZZ_CASES"), out int n) && n > 0 ? n : DefaultCases;

    /// <summary>Outcome counts of one fuzzed format (written to the test output for docs/reliability.md).</summary>
    private sealed class Counts
    {
        public int Accepted;
        public readonly SortedDictionary<string, int> Rejected = new(StringComparer.Ordinal);
        public readonly List<string> Failures = [];
        public long MaxAllocated;
        public double MaxRatio;
        public override string ToString() =>
            $"accepted {Accepted}, rejected {Rejected.Values.Sum()} ({string.Join(", ", Rejected.Select(kv => $"{kv.Key} {kv.Value}"))}), failures {Failures.Count}, max allocation {MaxAllocated} bytes ({MaxRatio:F1}× the file)";
    }

    /// <summary>
    /// Runs <see cref="Cases"/> mutants of <paramref name="seedFile"/> through <paramref name="read"/>; fails naming the
    /// seed of each case that threw an exception outside <paramref name="allowed"/>, ran past the time limit or
    /// allocated more than <paramref name="bound"/>(mutant).
    /// </summary>
    private void Fuzz(string format, byte[] seedFile, int baseSeed, Func<byte[], Random, byte[]> mutate, string fileName,
        Action<string> read, Type[] allowed, Func<byte[], long>? bound = null)
    {
        bound ??= m => 64L * m.Length + (4 << 20);
        var counts = new Counts();
        var path = _dir.File(fileName);
        var sw = Stopwatch.StartNew();
        int cases = Cases;
        for (int i = 0; i < cases; i++)
        {
            int seed = baseSeed + i;
            var mutant = mutate(seedFile, new Random(seed));
            File.WriteAllBytes(path, mutant);
            long allocated = 0, nativePeak = 0;
            Exception? thrown = null;
            var task = Task.Run(() =>
            {
                long live = MemoryStats.LiveHostBytes;
                MemoryStats.ResetPeakHostBytes();
                long before = GC.GetAllocatedBytesForCurrentThread();
                _readEnd = -1;
                try { read(path); }
                catch (Exception e) { thrown = e; }
                allocated = (_readEnd >= 0 ? _readEnd : GC.GetAllocatedBytesForCurrentThread()) - before;
                nativePeak = MemoryStats.PeakHostBytes - live;
            });
            if (!task.Wait(CaseLimit))
            {
                counts.Failures.Add($"seed {seed}: no result within {CaseLimit.TotalSeconds} s (hang)");
                break;
            }
            long total = allocated + Math.Max(0, nativePeak);
            counts.MaxAllocated = Math.Max(counts.MaxAllocated, total);
            counts.MaxRatio = Math.Max(counts.MaxRatio, (double)total / Math.Max(1, mutant.Length));
            if (total > bound(mutant))
                counts.Failures.Add($"seed {seed}: allocated {total} bytes reading a {mutant.Length}-byte file (bound {bound(mutant)})");
            if (thrown is null) counts.Accepted++;
            else if (allowed.Contains(thrown.GetType()))
            {
                counts.Rejected[thrown.GetType().Name] = counts.Rejected.GetValueOrDefault(thrown.GetType().Name) + 1;
                if (thrown is InvalidDataException && thrown.Message.Length == 0) counts.Failures.Add($"seed {seed}: InvalidDataException without a message");
            }
            else counts.Failures.Add($"seed {seed}: {thrown.GetType().Name}: {thrown.Message}\n{thrown.StackTrace}");
        }
        var line = $"fuzz {format}: {cases} cases (seeds {baseSeed}..{baseSeed + cases - 1}) in {sw.Elapsed.TotalSeconds:F1} s: {counts}";
        TestContext.Out.WriteLine(line);
        if (Environment.GetEnvironmentVariable("LIGHTNET_FUZZ_LOG") is { Length: > 0 } log) File.AppendAllText(log, line + Environment.NewLine);
        Assert.That(counts.Failures, Is.Empty, $"fuzz {format}: {counts.Failures.Count} failing cases; first: {counts.Failures.FirstOrDefault()}");
    }

    /// <summary>Allocation count at the end of the read proper (set by <see cref="ReadDone"/>; -1 when the whole case is the read).</summary>
    [ThreadStatic] private static long _readEnd;

    /// <summary>Marks the end of the read proper: what a case does after (using the parsed object) is run, timed and checked for exceptions, but not counted against the allocation bound.</summary>
    private static void ReadDone() => _readEnd = GC.GetAllocatedBytesForCurrentThread();

    private static readonly Type[] DataErrors = [typeof(InvalidDataException)];

    // ---------------------------------------------------------------- mutators

    /// <summary>Integers that break size and offset arithmetic.</summary>
    private static readonly long[] EdgeInts = [0, 1, -1, 2, 255, 256, 65535, int.MaxValue, int.MinValue, (long)int.MaxValue + 1, uint.MaxValue, long.MaxValue, long.MinValue, 1L << 32, 1L << 40, 100_000_000, 100_000_001];

    /// <summary>A byte-level mutation: flips, edge bytes, truncation (at a boundary or anywhere), insertion, deletion, duplication, an edge integer over a field.</summary>
    private static byte[] MutateBytes(byte[] src, Random r, int[] boundaries)
    {
        var b = src.ToList();
        int kinds = 1 + r.Next(3);
        for (int k = 0; k < kinds; k++)
        {
            int Pos() => b.Count == 0 ? 0 : r.Next(4) == 0 && boundaries.Length > 0 ? Math.Min(b.Count - 1, Math.Max(0, boundaries[r.Next(boundaries.Length)] + r.Next(-2, 3))) : r.Next(b.Count);
            switch (r.Next(8))
            {
                case 0:
                    for (int j = 1 + r.Next(4); j > 0 && b.Count > 0; j--) { int p = Pos(); b[p] ^= (byte)(1 << r.Next(8)); }
                    break;
                case 1:
                    if (b.Count > 0) b[Pos()] = (byte)new[] { 0, 0xFF, 0x7F, 0x80, 0x22, 0x5C, 0x7B, 0x5B, 0xC0, 0xED }[r.Next(10)];
                    break;
                case 2:
                    {
                        int cut = r.Next(2) == 0 && boundaries.Length > 0 ? Math.Clamp(boundaries[r.Next(boundaries.Length)] + r.Next(-1, 2), 0, b.Count) : r.Next(b.Count + 1);
                        b.RemoveRange(cut, b.Count - cut);
                        break;
                    }
                case 3:
                    {
                        int p = b.Count == 0 ? 0 : Pos();
                        var ins = new byte[1 + r.Next(r.Next(2) == 0 ? 8 : 600)];
                        r.NextBytes(ins);
                        b.InsertRange(p, ins);
                        break;
                    }
                case 4:
                    if (b.Count > 0) { int p = Pos(); b.RemoveRange(p, Math.Min(b.Count - p, 1 + r.Next(16))); }
                    break;
                case 5:
                    if (b.Count > 0) { int p = Pos(); int n = Math.Min(b.Count - p, 1 + r.Next(64)); b.InsertRange(p, b.GetRange(p, n)); }
                    break;
                default:
                    if (b.Count >= 8)
                    {
                        int p = Math.Min(Pos(), b.Count - 8);
                        long v = EdgeInts[r.Next(EdgeInts.Length)] + r.Next(-1, 2);
                        int width = r.Next(2) == 0 ? 4 : 8;
                        bool big = r.Next(2) == 0;
                        for (int j = 0; j < width; j++) b[p + j] = (byte)(v >> 8 * (big ? width - 1 - j : j));
                    }
                    break;
            }
        }
        return [.. b];
    }

    private static readonly string[] OddStrings =
        ["NaN", "Infinity", "-Infinity", "-0", "1e400", "", " ", "null", "\u0000", "\uFFFF", "ü€😀", "9223372036854775808", "-1", "0x10", "1_000"];

    private static readonly string[] OddNumbers =
        ["0", "-1", "-0", "0.5", "1e400", "-1e400", "1e308", "2147483647", "2147483648", "-2147483649", "4294967296", "9223372036854775807",
         "9223372036854775808", "18446744073709551616", "1e-400", "4.0", "1E3", "-2147483648", "100000000000000000000000000000", "1048577", "3"];

    private static JsonNode? OddValue(Random r) => r.Next(9) switch
    {
        0 => JsonValue.Create(OddStrings[r.Next(OddStrings.Length)]),
        1 => null,
        2 => JsonValue.Create(r.Next(2) == 0),
        3 => new JsonArray(JsonValue.Create(r.Next(-5, 5)), JsonValue.Create("x")),
        4 => new JsonObject { ["a"] = 1 },
        5 => JsonValue.Create(new string((char)('a' + r.Next(26)), 1 + r.Next(r.Next(2) == 0 ? 8 : 100_000))),
        6 => JsonValue.Create(r.NextDouble() * Math.Pow(10, r.Next(-10, 12)) * (r.Next(2) == 0 ? -1 : 1)),
        7 => JsonValue.Create(r.Next(-3, 4)),
        _ => JsonNode.Parse(OddNumbers[r.Next(OddNumbers.Length)] is var s && (s.Contains("e400") || s.Length > 20) ? "\"__RAW__\"" : s),
    };

    /// <summary>All (parent, key or index) positions of a JSON tree, up to a count.</summary>
    private static List<(JsonNode Parent, string? Key, int Index)> Slots(JsonNode root)
    {
        var slots = new List<(JsonNode, string?, int)>();
        var stack = new Stack<JsonNode>();
        stack.Push(root);
        while (stack.Count > 0 && slots.Count < 20_000)
        {
            var n = stack.Pop();
            if (n is JsonObject o)
                foreach (var (k, v) in o) { slots.Add((o, k, -1)); if (v != null) stack.Push(v); }
            else if (n is JsonArray a)
                for (int i = 0; i < a.Count; i++) { slots.Add((a, null, i)); if (a[i] != null) stack.Push(a[i]!); }
        }
        return slots;
    }

    /// <summary>A JSON-aware mutation of <paramref name="src"/> (a UTF-8 JSON document), or a byte-level one.</summary>
    private static byte[] MutateJson(byte[] src, Random r, bool bytesToo = true)
    {
        int kind = r.Next(bytesToo ? 12 : 9);
        if (kind >= 9) return MutateBytes(src, r, []);
        var root = JsonNode.Parse(src)!;
        var slots = Slots(root);
        var (parent, key, index) = slots[r.Next(slots.Count)];
        string? rawNumber = null;
        switch (kind)
        {
            case 0: // remove
                if (parent is JsonObject po) po.Remove(key!); else ((JsonArray)parent).RemoveAt(index);
                break;
            case 1: case 2: case 3: // retype / odd value
                {
                    var v = OddValue(r);
                    if (v is JsonValue sv && sv.TryGetValue<string>(out var s) && s == "__RAW__") { rawNumber = OddNumbers[r.Next(OddNumbers.Length)]; v = JsonValue.Create("__RAW__"); }
                    if (parent is JsonObject o) o[key!] = v; else ((JsonArray)parent)[index] = v;
                    break;
                }
            case 4: // deep nesting
                {
                    int depth = 1 + r.Next(r.Next(2) == 0 ? 10 : 2000);
                    string text = new string('[', depth) + new string(']', depth);
                    rawNumber = text;
                    if (parent is JsonObject o) o[key!] = "__RAW__"; else ((JsonArray)parent)[index] = "__RAW__";
                    break;
                }
            case 5: // lone surrogate / escapes in a string
                rawNumber = "\"" + new[] { "\\ud800", "\\udfff\\ud800", "\\u0000", "a\\\"b", "\\uFFFE" }[r.Next(5)] + "\"";
                if (parent is JsonObject o5) o5[key!] = "__RAW__"; else ((JsonArray)parent)[index] = "__RAW__";
                break;
            case 6: // numbers: scale an existing number to an edge
                {
                    rawNumber = OddNumbers[r.Next(OddNumbers.Length)];
                    if (parent is JsonObject o) o[key!] = "__RAW__"; else ((JsonArray)parent)[index] = "__RAW__";
                    break;
                }
            case 7: // add an unknown or existing key
                {
                    var target = slots.Select(s => s.Parent).OfType<JsonObject>().ToList() is { Count: > 0 } objs ? objs[r.Next(objs.Count)] : (root as JsonObject);
                    if (target != null) target["zz_fuzz_" + r.Next(3)] = OddValue(r);
                    break;
                }
            default: // duplicate a key textually (after serialization)
                break;
        }
        string json = root.ToJsonString();
        if (rawNumber != null)
        {
            int at = json.IndexOf("\"__RAW__\"", StringComparison.Ordinal);
            if (at >= 0) json = json[..at] + rawNumber + json[(at + 9)..];
        }
        if (kind == 8 && key != null)
        {
            // "key": value → "key": value, "key": value (the first occurrence of the key's property)
            string prop = "\"" + key + "\":";
            int at = json.IndexOf(prop, StringComparison.Ordinal);
            if (at >= 0) json = json[..at] + prop + "1," + json[at..];
        }
        var bytes = Encoding.UTF8.GetBytes(json);
        if (r.Next(10) == 0)
        {
            // invalid UTF-8 inside a string
            int q = Array.IndexOf(bytes, (byte)'"', r.Next(bytes.Length));
            if (q >= 0) { var l = bytes.ToList(); l.InsertRange(q + 1, new byte[][] { [0xC3], [0xFF], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80] }[r.Next(5)]); bytes = [.. l]; }
        }
        return bytes;
    }

    // ---------------------------------------------------------------- formats

    private static byte[] SafetensorsSeed(string path)
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["a"] = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]),
            ["b.weight"] = Tensor.FromArray(new double[] { 1.5, -2 }, [2]),
            ["c"] = Tensor.FromArray(new float[] { 7 }, [1]),
        };
        SafetensorsFile.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["step"] = "3" });
        foreach (var t in tensors.Values) t.Dispose();
        return File.ReadAllBytes(path);
    }

    /// <summary>A safetensors mutant: its header JSON mutated (the length field rewritten, or not), or its bytes.</summary>
    private static byte[] MutateSafetensors(byte[] src, Random r)
    {
        long hlen = BitConverter.ToInt64(src, 0);
        if (r.Next(2) == 0)
        {
            var header = src.AsSpan(8, (int)hlen).ToArray();
            var data = src.AsSpan(8 + (int)hlen).ToArray();
            var mutated = MutateJson(header, r, bytesToo: false);
            long len = mutated.Length + (r.Next(6) == 0 ? r.Next(-3, 4) : 0);
            return [.. BitConverter.GetBytes(len), .. mutated, .. r.Next(8) == 0 ? data[..r.Next(data.Length + 1)] : data];
        }
        return MutateBytes(src, r, [0, 4, 8, 8 + (int)hlen, 8 + (int)hlen + 24, 8 + (int)hlen + 32, src.Length]);
    }

    [Test]
    public void Safetensors()
    {
        var seed = SafetensorsSeed(_dir.File("seed.safetensors"));
        Fuzz("safetensors", seed, 1_000_000, MutateSafetensors, "fuzz.safetensors", path =>
        {
            using var f = SafetensorsFile.Open(path);
            var all = f.LoadAll();
            foreach (var t in all.Values) t.Dispose();
        }, DataErrors);
    }

    private static IEnumerable<TestCaseData> ConfigKinds()
    {
        yield return new TestCaseData("lm", new LightNetConfig { VocabSize = 64, HiddenSize = 16, NumHiddenLayers = 2, NumHeads = 2, ExpandRatio = null, GateLowRankDim = 4, IntermediateSize = 32, UseTpe = true, UseLrpe = true, MaxPositionEmbeddings = 32, Tokenizer = "byte" }.ToJson(), 2_000_000);
        yield return new TestCaseData("fla", new LightNetConfig { VocabSize = 64, HiddenSize = 16, NumHiddenLayers = 2, NumHeads = null, ExpandRatio = 8, GateLowRankDim = 4, UseShortConv = true }.ToFlaJson(), 3_000_000);
        yield return new TestCaseData("mlm", new MaskedLMConfig { VocabSize = 64, HiddenSize = 16, NumHiddenLayers = 2, NumHeads = 2, GateLowRankDim = 4, TpeRpeDim = 4, MaskTokenId = 63 }.ToJson(), 4_000_000);
        yield return new TestCaseData("classifier", new ImageClassifierConfig { InChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 16, NumHiddenLayers = 2, NumHeads = 2, GateLowRankDim = 4, TpeRpeDim = 4, NumClasses = 4 }.ToJson(), 5_000_000);
        yield return new TestCaseData("dit", new DiTConfig { InChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 16, NumHiddenLayers = 2, NumHeads = 2, GateLowRankDim = 4, TpeRpeDim = 4, NumClasses = 4, TimestepEmbeddingDim = 16, DiffusionSteps = 50 }.ToJson(), 6_000_000);
    }

    /// <summary>Reads a config of <paramref name="kind"/> and, when accepted, computes what a model build computes first (attention and MLP sizes).</summary>
    internal static void ReadConfig(string kind, string path)
    {
        var json = File.ReadAllText(path);
        switch (kind)
        {
            case "lm" or "fla":
                var lm = LightNetConfig.FromJson(json, path);
                _ = lm.Attention(causal: true);
                _ = lm.Intermediate;
                _ = lm.FlaGaps();
                _ = LightNetConfig.FromJson(lm.ToJson(), path);
                break;
            case "mlm":
                var m = MaskedLMConfig.FromJson(json, path);
                _ = m.Attention; _ = m.Intermediate;
                _ = MaskedLMConfig.FromJson(m.ToJson(), path);
                break;
            case "classifier":
                var c = ImageClassifierConfig.FromJson(json, path);
                _ = c.Attention; _ = c.Intermediate; _ = c.Grid;
                _ = ImageClassifierConfig.FromJson(c.ToJson(), path);
                break;
            default:
                var d = DiTConfig.FromJson(json, path);
                _ = d.Attention; _ = d.Intermediate; _ = d.Grid;
                _ = DiTConfig.FromJson(d.ToJson(), path);
                break;
        }
    }

    [TestCaseSource(nameof(ConfigKinds))]
    public void ConfigJson(string kind, string seedJson, int baseSeed)
    {
        ReadConfig(kind, WriteSeed("seed-config.json", seedJson));
        Fuzz($"config.json ({kind})", Encoding.UTF8.GetBytes(seedJson), baseSeed, (s, r) => MutateJson(s, r), "config.json",
            path => ReadConfig(kind, path), DataErrors);
    }

    private string WriteSeed(string name, string text)
    {
        var p = _dir.File(name);
        File.WriteAllText(p, text);
        return p;
    }

    [Test]
    public void ProgressJson()
    {
        var run = Path.Combine(_dir.Path, "run");
        var ckpt = TrainingCheckpoint.PathIn(run);
        Directory.CreateDirectory(ckpt);
        var seed = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new TrainingProgress(20, 40, 7, 21)));
        File.WriteAllBytes(Path.Combine(ckpt, "progress.json"), seed);
        Assert.That(TrainingCheckpoint.ReadProgress(run), Is.EqualTo(new TrainingProgress(20, 40, 7, 21)));
        Fuzz("progress.json", seed, 7_000_000, (s, r) => MutateJson(s, r), Path.Combine("run", "checkpoint", "progress.json"), _ =>
        {
            var p = TrainingCheckpoint.ReadProgress(run);
            Assert.That(p.Step, Is.InRange(0, p.TotalSteps));
        }, DataErrors);
    }

    [Test]
    public void CheckpointManifest()
    {
        var run = Path.Combine(_dir.Path, "run");
        var ckpt = TrainingCheckpoint.PathIn(run);
        Directory.CreateDirectory(ckpt);
        File.WriteAllText(Path.Combine(run, TrainingConfigFile.FileName), "{\"lr\": 0.002}\n");
        File.WriteAllBytes(Path.Combine(ckpt, "progress.json"), Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new TrainingProgress(20, 40, 7, 21, Manifest: true))));
        File.WriteAllBytes(Path.Combine(ckpt, "model.safetensors"), Enumerable.Range(0, 300).Select(i => (byte)i).ToArray());
        LightNet.Models.Training.CheckpointManifest.Write(ckpt, run, 20);
        var manifestPath = Path.Combine(ckpt, LightNet.Models.Training.CheckpointManifest.FileName);
        var seed = File.ReadAllBytes(manifestPath);
        Assert.That(TrainingCheckpoint.ReadProgress(run).Step, Is.EqualTo(20), "the seed checkpoint verifies");
        Fuzz("checkpoint manifest.json", seed, 13_000_000, (s, r) => MutateJson(s, r), Path.Combine("run", "checkpoint", LightNet.Models.Training.CheckpointManifest.FileName), _ =>
        {
            var p = TrainingCheckpoint.ReadProgress(run);
            if (LightNet.Models.Training.CheckpointManifest.Read(ckpt) is { } m) LightNet.Models.Training.CheckpointManifest.Verify(ckpt, run, m);
            Assert.That(p.Step, Is.EqualTo(20), "an accepted manifest verified the unchanged checkpoint");
        }, DataErrors);
    }

    private static byte[] RawIdxSeed()
    {
        var data = new byte[3 * 4 * 5];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 7);
        byte[] head = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5];
        return [.. head, .. data];
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(raw);
        return ms.ToArray();
    }

    /// <summary>Bytes a gzip stream decompresses to before it ends or fails (the data a reader may rightly hold), up to a cap.</summary>
    private static long Decompressed(byte[] file)
    {
        if (file.Length < 2 || file[0] != 0x1F || file[1] != 0x8B) return file.Length;
        long n = 0;
        try
        {
            using var gz = new GZipStream(new MemoryStream(file), CompressionMode.Decompress);
            var buf = new byte[1 << 16];
            int r;
            while ((r = gz.Read(buf)) > 0 && n < 1L << 31) n += r;
        }
        catch (Exception e) when (e is InvalidDataException or IOException) { }
        return n;
    }

    [TestCase(false, 8_000_000)]
    [TestCase(true, 9_000_000)]
    public void IdxFile(bool gzipped, int baseSeed)
    {
        var raw = RawIdxSeed();
        var seed = gzipped ? Gzip(raw) : raw;
        var seedPath = WriteSeed("seed.idx", "");
        File.WriteAllBytes(seedPath, seed);
        Assert.That(Idx.ReadImages(seedPath, out int n, out int rows, out int cols), Is.EqualTo(raw[16..]));
        Assert.That((n, rows, cols), Is.EqualTo((3, 4, 5)));
        Func<byte[], Random, byte[]> mutate = gzipped
            ? (s, r) => r.Next(2) == 0 ? Gzip(MutateBytes(raw, r, [0, 2, 3, 4, 8, 12, 16, raw.Length])) : MutateBytes(s, r, [0, 2, 3, 4, 8, 10, s.Length - 8, s.Length - 4])
            : (s, r) => MutateBytes(s, r, [0, 2, 3, 4, 8, 12, 16, s.Length]);
        Fuzz(gzipped ? "IDX (gzip)" : "IDX (raw)", seed, baseSeed, mutate, gzipped ? "fuzz-idx.gz" : "fuzz-idx", path =>
        {
            if (new FileInfo(path).Length % 2 == 0) Idx.ReadImages(path, out _, out _, out _);
            else Idx.ReadLabels(path);
        }, DataErrors, m => 64L * m.Length + 3 * Decompressed(m) + (4 << 20));
    }

    [TestCase("bytelevel-bpe.json", 10_000_000)]
    [TestCase("metaspace-split-bpe.json", 11_000_000)]
    [TestCase("sentencepiece-unk-bpe.json", 12_000_000)]
    public void TokenizerJson(string file, int baseSeed)
    {
        var seed = File.ReadAllBytes(TokenizerJsonTests.DataFile(file));
        Fuzz($"tokenizer.json ({file})", seed, baseSeed, (s, r) => MutateJson(s, r), "tokenizer.json", path =>
        {
            var t = HfTokenizer.Load(path);
            ReadDone();   // encoding with a fuzzed 100,000-character replacement or added token legitimately builds long strings
            var ids = t.Encode("Hello wörld, 1234 <|endoftext|>  ▁x\n");
            _ = t.Decode(ids);
        }, DataErrors, m => 256L * m.Length + (4 << 20));   // a long string is held as UTF-16, normalized and compiled into matchers: linear, a larger factor
    }
}
