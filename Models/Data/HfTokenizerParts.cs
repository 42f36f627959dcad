using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LightNet.Models.Data;

/// <summary>Character classes and regex matching as the Hugging Face library (Rust, code points) sees them.</summary>
internal static class HfText
{
    /// <summary>Unicode White_Space (Rust's <c>char::is_whitespace</c>, regex <c>\s</c>).</summary>
    public static bool IsWhiteSpace(char c) => c is >= '\t' and <= '\r' or ' ' or '\u0085' or '\u00A0' or '\u1680'
        or >= '\u2000' and <= '\u200A' or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000';

    public static bool IsWhiteSpaceAt(string s, int i, out int width)
    {
        width = 1;
        return IsWhiteSpace(s[i]);
    }

    public static bool IsWhiteSpaceBefore(string s, int i, out int width)
    {
        width = 1;
        return IsWhiteSpace(s[i - 1]);
    }

    /// <summary>Whether the code point just before (<paramref name="before"/>) or at <paramref name="i"/> is a regex <c>\w</c> character.</summary>
    public static bool IsWordChar(string s, int i, bool before)
    {
        Rune r;
        if (before)
        {
            if (Rune.DecodeLastFromUtf16(s.AsSpan(0, i), out r, out _) != System.Buffers.OperationStatus.Done) return false;
        }
        else if (Rune.DecodeFromUtf16(s.AsSpan(i), out r, out _) != System.Buffers.OperationStatus.Done) return false;
        if (r.Value is 0x200C or 0x200D) return true;
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation => true,
            _ => false,
        };
    }

    /// <summary>
    /// The matches of <paramref name="re"/> in <paramref name="s"/> (non-empty ones, as UTF-16 ranges). .NET regexes see a
    /// code point above U+FFFF as two surrogates (neither a letter nor a digit), so such code points are matched as one
    /// stand-in character of the same Unicode category and the ranges mapped back.
    /// </summary>
    public static List<(int Start, int End)> Matches(Regex re, string s)
    {
        var result = new List<(int, int)>();
        bool astral = false;
        foreach (var ch in s) if (char.IsSurrogate(ch)) { astral = true; break; }
        if (!astral)
        {
            for (var m = re.Match(s); m.Success; m = m.NextMatch())
                if (m.Length > 0) result.Add((m.Index, m.Index + m.Length));
            return result;
        }
        var proj = new StringBuilder(s.Length);
        var map = new List<int>(s.Length + 1);   // projected index → original index
        for (int i = 0; i < s.Length;)
        {
            map.Add(i);
            if (Rune.DecodeFromUtf16(s.AsSpan(i), out var r, out int n) == System.Buffers.OperationStatus.Done && n == 2)
                proj.Append(StandIn(Rune.GetUnicodeCategory(r)));
            else
            {
                n = 1;
                proj.Append(s[i]);
            }
            i += n;
        }
        map.Add(s.Length);
        var p = proj.ToString();
        for (var m = re.Match(p); m.Success; m = m.NextMatch())
            if (m.Length > 0) result.Add((map[m.Index], map[m.Index + m.Length]));
        return result;
    }

    /// <summary>A character below U+10000 of category <paramref name="c"/>.</summary>
    private static char StandIn(UnicodeCategory c) => c switch
    {
        UnicodeCategory.UppercaseLetter => 'A',
        UnicodeCategory.LowercaseLetter => 'a',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u00AA',
        UnicodeCategory.DecimalDigitNumber => '0',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.MathSymbol => '\u00AC',
        UnicodeCategory.CurrencySymbol => '\u00A4',
        UnicodeCategory.ModifierSymbol => '\u02C2',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u00AB',
        UnicodeCategory.FinalQuotePunctuation => '\u00BB',
        UnicodeCategory.OtherPunctuation => '\u00A1',
        UnicodeCategory.Format => '\u2060',
        UnicodeCategory.PrivateUse => '\uE000',
        UnicodeCategory.OtherNotAssigned => '\u0378',
        _ => '\uFFFC',
    };

    /// <summary>GPT-2's byte → character table (printable bytes stand for themselves, the rest map above U+00FF).</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();
    /// <summary>The inverse of <see cref="ByteToChar"/> (−1 for characters not in it).</summary>
    public static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(t => t.c, t => (byte)t.b);

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + n++);
        }
        return map;
    }

    public static string ToByteChars(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>Split behaviours of the library's <c>NormalizedString::split</c>.</summary>
    public enum Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

    public static Behavior ParseBehavior(string? s) => s switch
    {
        "Removed" => Behavior.Removed,
        "Isolated" => Behavior.Isolated,
        "MergedWithPrevious" => Behavior.MergedWithPrevious,
        "MergedWithNext" => Behavior.MergedWithNext,
        "Contiguous" => Behavior.Contiguous,
        _ => throw new HfFormatException($"unknown split behavior '{s}' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)"),
    };

    /// <summary>Splits <paramref name="s"/> at the matched ranges (<paramref name="matches"/>, in order) per <paramref name="behavior"/>; empty parts are dropped.</summary>
    public static List<(int Start, int End)> Split(string s, List<(int Start, int End)> matches, Behavior behavior, bool invert = false)
    {
        // (range, is_match) covering the string, as the library's Pattern::find_matches.
        var parts = new List<(int S, int E, bool M)>();
        int prev = 0;
        foreach (var (a, b) in matches)
        {
            if (prev != a) parts.Add((prev, a, invert));
            parts.Add((a, b, !invert));
            prev = b;
        }
        if (prev != s.Length) parts.Add((prev, s.Length, invert));
        var splits = new List<(int S, int E, bool Remove)>();
        bool previous = false;
        switch (behavior)
        {
            case Behavior.Isolated:
                foreach (var p in parts) splits.Add((p.S, p.E, false));
                break;
            case Behavior.Removed:
                foreach (var p in parts) splits.Add((p.S, p.E, p.M));
                break;
            case Behavior.Contiguous:
                foreach (var p in parts)
                {
                    if (p.M == previous && splits.Count > 0) splits[^1] = (splits[^1].S, p.E, false);
                    else splits.Add((p.S, p.E, false));
                    previous = p.M;
                }
                break;
            case Behavior.MergedWithPrevious:
                foreach (var p in parts)
                {
                    if (p.M && !previous && splits.Count > 0) splits[^1] = (splits[^1].S, p.E, false);
                    else splits.Add((p.S, p.E, false));
                    previous = p.M;
                }
                break;
            case Behavior.MergedWithNext:
                for (int i = parts.Count - 1; i >= 0; i--)
                {
                    var p = parts[i];
                    if (p.M && !previous && splits.Count > 0) splits[^1] = (p.S, splits[^1].E, false);
                    else splits.Add((p.S, p.E, false));
                    previous = p.M;
                }
                splits.Reverse();
                break;
        }
        var r = new List<(int, int)>(splits.Count);
        foreach (var x in splits) if (!x.Remove && x.E > x.S) r.Add((x.S, x.E));
        return r;
    }

    /// <summary>Ranges of the code points of <paramref name="s"/> that satisfy <paramref name="pred"/>.</summary>
    public static List<(int Start, int End)> CharMatches(string s, Func<Rune, bool> pred)
    {
        var r = new List<(int, int)>();
        for (int i = 0; i < s.Length;)
        {
            if (Rune.DecodeFromUtf16(s.AsSpan(i), out var rune, out int n) != System.Buffers.OperationStatus.Done) { rune = Rune.ReplacementChar; n = 1; }
            if (pred(rune)) r.Add((i, i + n));
            i += n;
        }
        return r;
    }
}

/// <summary>The BPE model of a tokenizer.json (<c>model.type == "BPE"</c>), as the Hugging Face library applies it.</summary>
internal sealed class HfBpeModel
{
    public Dictionary<string, int> Vocab { get; } = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _byId = [];
    private readonly Dictionary<long, (int Rank, int NewId)> _merges = [];
    private readonly string? _unk;
    private readonly int _unkId = -1;
    private readonly string _prefix = "", _suffix = "";
    private readonly bool _fuseUnk, _byteFallback, _ignoreMerges;
    private readonly int[] _byteIds = new int[256];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private int _cached;
    private const int CacheCapacity = 200_000, CacheMaxLength = 256;

    public int Count => Vocab.Count;
    public int MaxId { get; }
    public bool HasId(int id) => _byId.ContainsKey(id);
    public bool TryGetToken(int id, out string token) => _byId.TryGetValue(id, out token!);

    /// <summary>Bound on vocabulary ids (2^24, far above any real vocabulary), so the id count and the engine's four ids after it never overflow.</summary>
    internal const int MaxVocabularyIds = 1 << 24;

    private HfBpeModel(JsonElement m)
    {
        if (!m.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new HfFormatException("the BPE model has no \"vocab\" object");
        MaxId = -1;
        foreach (var e in vocab.EnumerateObject())
        {
            if (e.Value.ValueKind != JsonValueKind.Number || !e.Value.TryGetInt32(out int id) || id < 0 || id >= MaxVocabularyIds)
                throw new HfFormatException($"vocabulary entry '{e.Name}' has id {e.Value.GetRawText()}, not an integer in [0, {MaxVocabularyIds})");
            Vocab[e.Name] = id;
            _byId[id] = e.Name;
            MaxId = Math.Max(MaxId, id);
        }
        _prefix = HfJson.String(m, "continuing_subword_prefix") ?? "";
        _suffix = HfJson.String(m, "end_of_word_suffix") ?? "";
        _fuseUnk = HfJson.Bool(m, "fuse_unk") ?? false;
        _byteFallback = HfJson.Bool(m, "byte_fallback") ?? false;
        _ignoreMerges = HfJson.Bool(m, "ignore_merges") ?? false;
        _unk = HfJson.String(m, "unk_token");
        if (_unk != null)
            _unkId = Vocab.TryGetValue(_unk, out var u) ? u : throw new HfFormatException($"the unknown token '{_unk}' is not in the vocabulary");
        for (int b = 0; b < 256; b++) _byteIds[b] = Vocab.TryGetValue($"<0x{b:X2}>", out var id) ? id : -1;

        if (!m.TryGetProperty("merges", out var merges) || merges.ValueKind != JsonValueKind.Array)
            throw new HfFormatException("the BPE model has no \"merges\" array");
        int rank = 0;
        foreach (var e in merges.EnumerateArray())
        {
            string a, b;
            if (e.ValueKind == JsonValueKind.String)
            {
                var parts = e.GetString()!.Split(' ');
                if (parts.Length != 2) throw new HfFormatException($"merge {rank + 1} ('{e.GetString()}') is not two tokens separated by one space");
                (a, b) = (parts[0], parts[1]);
            }
            else if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2 && e[0].ValueKind == JsonValueKind.String && e[1].ValueKind == JsonValueKind.String)
                (a, b) = (e[0].GetString()!, e[1].GetString()!);
            else throw new HfFormatException($"merge {rank + 1} is neither \"a b\" nor [\"a\", \"b\"]");
            if (!Vocab.TryGetValue(a, out var ia)) throw new HfFormatException($"merge {rank + 1} ('{a} {b}') uses '{a}', which is not in the vocabulary");
            if (!Vocab.TryGetValue(b, out var ib)) throw new HfFormatException($"merge {rank + 1} ('{a} {b}') uses '{b}', which is not in the vocabulary");
            var merged = a + (b.Length >= _prefix.Length && b.StartsWith(_prefix, StringComparison.Ordinal) ? b[_prefix.Length..] : b);
            if (!Vocab.TryGetValue(merged, out var inew)) throw new HfFormatException($"merge {rank + 1} ('{a} {b}') makes '{merged}', which is not in the vocabulary");
            _merges[Key(ia, ib)] = (rank, inew);
            rank++;
        }
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    public static HfBpeModel Parse(JsonElement model)
    {
        var type = HfJson.String(model, "type");
        if (type == null)
        {
            // Files from before "type" was written: BPE is the one with merges.
            if (model.TryGetProperty("merges", out _)) type = "BPE";
            else throw new HfFormatException("the model has no \"type\" and no \"merges\" (only BPE models are supported)");
        }
        if (type != "BPE")
            throw new HfFormatException($"model type '{type}' is not supported: only BPE tokenizers (byte-level or SentencePiece-style) can be loaded, not WordPiece, WordLevel or Unigram");
        return new HfBpeModel(model);
    }

    /// <summary>Appends the ids of one pre-tokenized word.</summary>
    public void Tokenize(string word, List<int> ids)
    {
        if (_ignoreMerges && Vocab.TryGetValue(word, out var whole)) { ids.Add(whole); return; }
        if (_cache.TryGetValue(word, out var hit)) { ids.AddRange(hit); return; }
        var r = MergeWord(word);
        if (word.Length < CacheMaxLength && _cached < CacheCapacity && _cache.TryAdd(word, r)) Interlocked.Increment(ref _cached);
        ids.AddRange(r);
    }

    private int[] MergeWord(string w)
    {
        var sym = new List<int>(w.Length);
        int pendingUnk = -1;   // an unknown token not yet added (fused with the next one when fuse_unk)
        for (int i = 0; i < w.Length;)
        {
            if (Rune.DecodeFromUtf16(w.AsSpan(i), out _, out int n) != System.Buffers.OperationStatus.Done) n = 1;
            bool first = i == 0, last = i + n >= w.Length;
            var s = w.Substring(i, n);
            i += n;
            if (!first && _prefix.Length > 0) s = _prefix + s;
            if (last && _suffix.Length > 0) s += _suffix;
            if (Vocab.TryGetValue(s, out var id))
            {
                if (pendingUnk >= 0) { sym.Add(pendingUnk); pendingUnk = -1; }
                sym.Add(id);
                continue;
            }
            if (_byteFallback)
            {
                var bytes = Encoding.UTF8.GetBytes(s);
                bool all = true;
                foreach (var b in bytes) all &= _byteIds[b] >= 0;
                if (all)
                {
                    // As the library: the pending unknown token stays pending across byte-fallback tokens.
                    foreach (var b in bytes) sym.Add(_byteIds[b]);
                    continue;
                }
            }
            if (_unkId >= 0)
            {
                if (pendingUnk >= 0 && !_fuseUnk) sym.Add(pendingUnk);
                pendingUnk = _unkId;
            }
        }
        if (pendingUnk >= 0) sym.Add(pendingUnk);
        return Merge(sym);
    }

    /// <summary>Applies the merges, lowest rank first and leftmost first among equal ranks.</summary>
    private int[] Merge(List<int> symbols)
    {
        int n = symbols.Count;
        if (n < 2 || _merges.Count == 0) return [.. symbols];
        var c = symbols.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; alive[i] = true; }
        var queue = new PriorityQueue<(int Pos, int NewId), long>();
        for (int i = 0; i + 1 < n; i++)
            if (_merges.TryGetValue(Key(c[i], c[i + 1]), out var m)) queue.Enqueue((i, m.NewId), Priority(m.Rank, i));
        while (queue.TryDequeue(out var top, out _))
        {
            int pos = top.Pos;
            if (!alive[pos] || next[pos] < 0) continue;
            int right = next[pos];
            if (!_merges.TryGetValue(Key(c[pos], c[right]), out var cur) || cur.NewId != top.NewId) continue;
            c[pos] = top.NewId;
            alive[right] = false;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;
            if (prev[pos] >= 0 && _merges.TryGetValue(Key(c[prev[pos]], c[pos]), out var mp))
                queue.Enqueue((prev[pos], mp.NewId), Priority(mp.Rank, prev[pos]));
            if (next[pos] >= 0 && _merges.TryGetValue(Key(c[pos], c[next[pos]]), out var mn))
                queue.Enqueue((pos, mn.NewId), Priority(mn.Rank, pos));
        }
        var r = new List<int>(n);
        for (int i = 0; i < n; i++) if (alive[i]) r.Add(c[i]);
        return [.. r];
    }

    private static long Priority(int rank, int pos) => ((long)rank << 32) | (uint)pos;
}

/// <summary>A tokenizer.json normalizer.</summary>
internal abstract class HfNormalizer
{
    public abstract string Normalize(string s);

    public static HfNormalizer? Parse(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Null) return null;
        var type = HfJson.Type(e, "the normalizer");
        return type switch
        {
            "Sequence" => new Seq([.. Items(e, "normalizers").Select(x => Parse(x)).OfType<HfNormalizer>()]),
            "NFC" => new Unicode(NormalizationForm.FormC),
            "NFD" => new Unicode(NormalizationForm.FormD),
            "NFKC" => new Unicode(NormalizationForm.FormKC),
            "NFKD" => new Unicode(NormalizationForm.FormKD),
            "Lowercase" => new Lower(),
            "Prepend" => new PrependN(HfJson.String(e, "prepend") ?? throw new HfFormatException("the Prepend normalizer has no \"prepend\"")),
            "Replace" => new ReplaceN(HfJson.Pattern(e, "the Replace normalizer"), HfJson.String(e, "content") ?? ""),
            "Strip" => new StripN(HfJson.Bool(e, "strip_left") ?? true, HfJson.Bool(e, "strip_right") ?? true),
            "ByteLevel" => new ByteLevelN(),
            _ => throw new HfFormatException($"normalizer type '{type}' is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, ByteLevel)"),
        };
    }

    internal static IEnumerable<JsonElement> Items(JsonElement e, string name) =>
        e.TryGetProperty(name, out var a) && a.ValueKind == JsonValueKind.Array ? a.EnumerateArray() : throw new HfFormatException($"a Sequence has no \"{name}\" array");

    private sealed class Seq(HfNormalizer[] items) : HfNormalizer
    {
        public override string Normalize(string s)
        {
            foreach (var n in items) s = n.Normalize(s);
            return s;
        }
    }

    private sealed class Unicode(NormalizationForm form) : HfNormalizer
    {
        public override string Normalize(string s)
        {
            try { return s.Normalize(form); }
            catch (ArgumentException) { return s; }   // unpaired surrogates
        }
    }

    private sealed class Lower : HfNormalizer
    {
        public override string Normalize(string s) => s.ToLowerInvariant();
    }

    private sealed class PrependN(string prefix) : HfNormalizer
    {
        public override string Normalize(string s) => s.Length == 0 ? s : prefix + s;
    }

    private sealed class ReplaceN(Regex re, string content) : HfNormalizer
    {
        public override string Normalize(string s)
        {
            var ms = HfText.Matches(re, s);
            if (ms.Count == 0) return s;
            var sb = new StringBuilder(s.Length);
            int prev = 0;
            foreach (var (a, b) in ms) { sb.Append(s, prev, a - prev).Append(content); prev = b; }
            return sb.Append(s, prev, s.Length - prev).ToString();
        }
    }

    private sealed class StripN(bool left, bool right) : HfNormalizer
    {
        public override string Normalize(string s)
        {
            int a = 0, b = s.Length;
            if (left) while (a < b && HfText.IsWhiteSpace(s[a])) a++;
            if (right) while (b > a && HfText.IsWhiteSpace(s[b - 1])) b--;
            return s[a..b];
        }
    }

    private sealed class ByteLevelN : HfNormalizer
    {
        public override string Normalize(string s) => HfText.ToByteChars(s);
    }
}

/// <summary>A tokenizer.json pre-tokenizer: splits pieces into smaller ones (and may rewrite them).</summary>
internal abstract class HfPreTokenizer
{
    public abstract List<HfPiece> Split(List<HfPiece> pieces);

    /// <summary>GPT-2's pre-tokenization regex (the ByteLevel pre-tokenizer's).</summary>
    private static readonly Regex Gpt2 = new(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.Compiled | RegexOptions.CultureInvariant);
    private static readonly Regex WordsAndPunct = new(@"\w+|[^\w\s]+", RegexOptions.Compiled | RegexOptions.CultureInvariant);

    public static HfPreTokenizer? Parse(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Null) return null;
        var type = HfJson.Type(e, "the pre-tokenizer");
        switch (type)
        {
            case "Sequence":
                return new Seq([.. HfNormalizer.Items(e, "pretokenizers").Select(x => Parse(x)).OfType<HfPreTokenizer>()]);
            case "ByteLevel":
                return new ByteLevel(HfJson.Bool(e, "add_prefix_space") ?? true, HfJson.Bool(e, "use_regex") ?? true);
            case "Metaspace":
            {
                var (repl, scheme) = MetaspaceOptions(e);
                return new Metaspace(repl, scheme, HfJson.Bool(e, "split") ?? true);
            }
            case "Split":
                return new SplitP(HfJson.Pattern(e, "the Split pre-tokenizer"), HfText.ParseBehavior(HfJson.String(e, "behavior")), HfJson.Bool(e, "invert") ?? false);
            case "Digits":
                return new Digits(HfJson.Bool(e, "individual_digits") ?? false);
            case "WhitespaceSplit":
                return new Func(s => HfText.Split(s, HfText.CharMatches(s, r => r.IsBmp && HfText.IsWhiteSpace((char)r.Value)), HfText.Behavior.Removed));
            case "Whitespace":
                return new Func(s => HfText.Split(s, HfText.Matches(WordsAndPunct, s), HfText.Behavior.Removed, invert: true));
            default:
                throw new HfFormatException($"pre-tokenizer type '{type}' is not supported (supported: Sequence, ByteLevel, Metaspace, Split, Digits, Whitespace, WhitespaceSplit)");
        }
    }

    /// <summary>The replacement character and prepend scheme (<c>always</c>, <c>first</c>, <c>never</c>) of a Metaspace pre-tokenizer or decoder.</summary>
    internal static (char Replacement, string Scheme) MetaspaceOptions(JsonElement e)
    {
        var r = HfJson.String(e, "replacement") ?? "\u2581";
        if (r.Length != 1) throw new HfFormatException($"the Metaspace replacement '{r}' is not one character");
        var scheme = HfJson.String(e, "prepend_scheme") ?? ((HfJson.Bool(e, "add_prefix_space") ?? true) ? "always" : "never");
        if (scheme is not ("always" or "first" or "never")) throw new HfFormatException($"unknown Metaspace prepend_scheme '{scheme}' (expected always, first or never)");
        return (r[0], scheme);
    }

    /// <summary>Replaces each piece by the parts <paramref name="split"/> gives (ranges of its text); only the first part keeps "at start".</summary>
    private static List<HfPiece> Each(List<HfPiece> pieces, Func<HfPiece, IEnumerable<HfPiece>> split)
    {
        var r = new List<HfPiece>(pieces.Count);
        foreach (var p in pieces) foreach (var q in split(p)) if (q.Text.Length > 0) r.Add(q);
        return r;
    }

    private static IEnumerable<HfPiece> Ranges(HfPiece p, string text, List<(int Start, int End)> ranges) =>
        ranges.Select(x => new HfPiece(text[x.Start..x.End], p.AtStart && x.Start == 0));

    private sealed class Seq(HfPreTokenizer[] items) : HfPreTokenizer
    {
        public override List<HfPiece> Split(List<HfPiece> pieces)
        {
            foreach (var t in items) pieces = t.Split(pieces);
            return pieces;
        }
    }

    private sealed class ByteLevel(bool addPrefixSpace, bool useRegex) : HfPreTokenizer
    {
        public override List<HfPiece> Split(List<HfPiece> pieces) => Each(pieces, p =>
        {
            var t = addPrefixSpace && !p.Text.StartsWith(' ') ? " " + p.Text : p.Text;
            var parts = useRegex ? Ranges(p, t, HfText.Split(t, HfText.Matches(Gpt2, t), HfText.Behavior.Isolated)) : [p with { Text = t }];
            return parts.Select(q => q with { Text = HfText.ToByteChars(q.Text) });
        });
    }

    private sealed class Metaspace(char replacement, string scheme, bool split) : HfPreTokenizer
    {
        public override List<HfPiece> Split(List<HfPiece> pieces) => Each(pieces, p =>
        {
            var t = p.Text.Replace(' ', replacement);
            bool prepend = scheme == "always" || (scheme == "first" && p.AtStart);
            if (prepend && !t.StartsWith(replacement)) t = replacement + t;
            if (!split) return [p with { Text = t }];
            return Ranges(p, t, HfText.Split(t, HfText.CharMatches(t, r => r.Value == replacement), HfText.Behavior.MergedWithNext));
        });
    }

    private sealed class SplitP(Regex re, HfText.Behavior behavior, bool invert) : HfPreTokenizer
    {
        public override List<HfPiece> Split(List<HfPiece> pieces) =>
            Each(pieces, p => Ranges(p, p.Text, HfText.Split(p.Text, HfText.Matches(re, p.Text), behavior, invert)));
    }

    private sealed class Digits(bool individual) : HfPreTokenizer
    {
        public override List<HfPiece> Split(List<HfPiece> pieces) => Each(pieces, p =>
        {
            var m = HfText.CharMatches(p.Text, r => Rune.GetUnicodeCategory(r) is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber);
            return Ranges(p, p.Text, HfText.Split(p.Text, m, individual ? HfText.Behavior.Isolated : HfText.Behavior.Contiguous));
        });
    }

    private sealed class Func(Func<string, List<(int Start, int End)>> ranges) : HfPreTokenizer
    {
        public override List<HfPiece> Split(List<HfPiece> pieces) => Each(pieces, p => Ranges(p, p.Text, ranges(p.Text)));
    }
}

/// <summary>A tokenizer.json decoder: rewrites the list of token strings (the result is their concatenation).</summary>
internal abstract class HfDecoder
{
    public abstract List<string> Decode(List<string> tokens);

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public static HfDecoder? Parse(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Null) return null;
        var type = HfJson.Type(e, "the decoder");
        switch (type)
        {
            case "Sequence":
                return new Seq([.. HfNormalizer.Items(e, "decoders").Select(x => Parse(x)).OfType<HfDecoder>()]);
            case "ByteLevel":
                return new ByteLevel();
            case "Metaspace":
            {
                var (repl, scheme) = HfPreTokenizer.MetaspaceOptions(e);
                return new Metaspace(repl, scheme);
            }
            case "Replace":
                return new ReplaceD(HfJson.Pattern(e, "the Replace decoder"), HfJson.String(e, "content") ?? "");
            case "ByteFallback":
                return new ByteFallback();
            case "Fuse":
                return new Fuse();
            case "Strip":
            {
                var content = HfJson.String(e, "content") ?? " ";
                if (content.Length != 1) throw new HfFormatException($"the Strip decoder's content '{content}' is not one character");
                return new Strip(content[0], HfJson.Int(e, "start") ?? 0, HfJson.Int(e, "stop") ?? 0);
            }
            case "BPEDecoder":
                return new Bpe(HfJson.String(e, "suffix") ?? "</w>");
            default:
                throw new HfFormatException($"decoder type '{type}' is not supported (supported: Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder)");
        }
    }

    private sealed class Seq(HfDecoder[] items) : HfDecoder
    {
        public override List<string> Decode(List<string> tokens)
        {
            foreach (var d in items) tokens = d.Decode(tokens);
            return tokens;
        }
    }

    private sealed class ByteLevel : HfDecoder
    {
        public override List<string> Decode(List<string> tokens)
        {
            var bytes = new List<byte>();
            foreach (var t in tokens)
            {
                bool all = true;
                foreach (var ch in t) all &= HfText.CharToByte.ContainsKey(ch);
                if (all) foreach (var ch in t) bytes.Add(HfText.CharToByte[ch]);
                else bytes.AddRange(Encoding.UTF8.GetBytes(t));
            }
            return [Encoding.UTF8.GetString([.. bytes])];
        }
    }

    private sealed class Metaspace(char replacement, string scheme) : HfDecoder
    {
        public override List<string> Decode(List<string> tokens)
        {
            var r = new List<string>(tokens.Count);
            for (int i = 0; i < tokens.Count; i++)
            {
                var sb = new StringBuilder(tokens[i].Length);
                foreach (var ch in tokens[i])
                    if (ch != replacement) sb.Append(ch);
                    else if (i != 0 || scheme == "never") sb.Append(' ');
                r.Add(sb.ToString());
            }
            return r;
        }
    }

    private sealed class ReplaceD(Regex re, string content) : HfDecoder
    {
        public override List<string> Decode(List<string> tokens) => [.. tokens.Select(t =>
        {
            var ms = HfText.Matches(re, t);
            if (ms.Count == 0) return t;
            var sb = new StringBuilder(t.Length);
            int prev = 0;
            foreach (var (a, b) in ms) { sb.Append(t, prev, a - prev).Append(content); prev = b; }
            return sb.Append(t, prev, t.Length - prev).ToString();
        })];
    }

    private sealed class ByteFallback : HfDecoder
    {
        public override List<string> Decode(List<string> tokens)
        {
            var r = new List<string>(tokens.Count);
            var pending = new List<byte>();
            foreach (var t in tokens)
            {
                if (t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>'
                    && byte.TryParse(t.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
                {
                    pending.Add(b);
                    continue;
                }
                Flush();
                r.Add(t);
            }
            Flush();
            return r;

            void Flush()
            {
                if (pending.Count == 0) return;
                try { r.Add(StrictUtf8.GetString([.. pending])); }
                catch (DecoderFallbackException) { for (int i = 0; i < pending.Count; i++) r.Add("\uFFFD"); }
                pending.Clear();
            }
        }
    }

    private sealed class Fuse : HfDecoder
    {
        public override List<string> Decode(List<string> tokens) => [string.Concat(tokens)];
    }

    private sealed class Strip(char content, int start, int stop) : HfDecoder
    {
        public override List<string> Decode(List<string> tokens) => [.. tokens.Select(t =>
        {
            var runes = t.EnumerateRunes().ToArray();
            int a = 0, b = runes.Length;
            for (int i = 0; i < Math.Min(start, runes.Length) && runes[i].Value == content; i++) a = i + 1;
            for (int i = 0; i < stop && b - 1 >= a && runes[b - 1].Value == content; i++) b--;
            var sb = new StringBuilder();
            for (int i = a; i < b; i++) sb.Append(runes[i].ToString());
            return sb.ToString();
        })];
    }

    private sealed class Bpe(string suffix) : HfDecoder
    {
        public override List<string> Decode(List<string> tokens) =>
            [.. tokens.Select((t, i) => t.Replace(suffix, i == tokens.Count - 1 ? "" : " ", StringComparison.Ordinal))];
    }
}
