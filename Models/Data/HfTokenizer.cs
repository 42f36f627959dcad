using System.Text;
using System.Text.Json;

namespace LightNet.Models.Data;

/// <summary>
/// A BPE tokenizer read from a Hugging Face <c>tokenizer.json</c>: byte-level BPE (GPT-2, RoBERTa, Llama 3:
/// <c>ByteLevel</c> pre-tokenizer and decoder, optionally after a <c>Split</c> regex) and SentencePiece-style BPE
/// (Llama, Mistral: <c>Prepend</c>/<c>Replace ▁</c> normalizers or a <c>Metaspace</c> pre-tokenizer, <c>&lt;0x..&gt;</c>
/// byte fallback, <c>Replace</c>/<c>ByteFallback</c>/<c>Fuse</c>/<c>Strip</c>/<c>Metaspace</c> decoders).
/// <see cref="Encode"/> gives the ids of the Hugging Face library's <c>encode(text, add_special_tokens=False)</c>
/// (added tokens written in the text, special or not, become their ids; the post-processor is not applied) and
/// decoding follows its <c>decode(ids, skip_special_tokens=False)</c>.
/// <para>
/// Ids <c>[0, <see cref="FileVocabSize"/>)</c> are the file's (its largest id + 1, added tokens included) and are
/// all ordinary text ids here (<see cref="TextIdCount"/>); the engine's own <c>[PAD]</c>, <c>[MASK]</c>, <c>[BOS]</c>
/// and <c>[EOS]</c> follow at <c>FileVocabSize</c> … <c>FileVocabSize + 3</c>, so <see cref="VocabSize"/> =
/// <c>FileVocabSize + 4</c> and <see cref="Encode"/> never emits one of them.
/// </para>
/// Other model types (WordPiece, Unigram, WordLevel) and unknown normalizers, pre-tokenizers or decoders are refused
/// by name with <see cref="InvalidDataException"/>.
/// </summary>
public sealed class HfTokenizer : ITextTokenizer
{
    private readonly HfBpeModel _model;
    private readonly HfNormalizer? _normalizer;
    private readonly HfPreTokenizer? _preTokenizer;
    private readonly HfDecoder? _decoder;
    private readonly HfAddedToken[] _added;                       // by content length, longest first
    private readonly Dictionary<char, HfAddedToken[]> _addedRaw;   // normalized: false, by first char
    private readonly Dictionary<char, HfAddedToken[]> _addedNorm;  // normalized: true (matched in normalized text)
    private readonly Dictionary<int, string> _addedById;
    private readonly byte[] _fileBytes;

    private HfTokenizer(string path, byte[] bytes, HfBpeModel model, HfNormalizer? normalizer, HfPreTokenizer? pre, HfDecoder? decoder, List<HfAddedToken> added)
    {
        SourcePath = path;
        _fileBytes = bytes;
        _model = model;
        _normalizer = normalizer;
        _preTokenizer = pre;
        _decoder = decoder;
        _added = [.. added.OrderByDescending(a => a.Content.Length)];
        _addedById = added.GroupBy(a => a.Id).ToDictionary(g => g.Key, g => g.Last().MatchText);   // the library decodes a normalized token as its normalized form
        _addedRaw = ByFirstChar(added.Where(a => !a.Normalized));
        _addedNorm = ByFirstChar(added.Where(a => a.Normalized).Select(a => a with { Content = a.MatchText }));
        FileVocabSize = Math.Max(model.MaxId, added.Count == 0 ? -1 : added.Max(a => a.Id)) + 1;
        Name = Path.GetFileName(path);
    }

    private static Dictionary<char, HfAddedToken[]> ByFirstChar(IEnumerable<HfAddedToken> tokens) =>
        tokens.Where(t => t.Content.Length > 0).GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());

    /// <summary>Reads <paramref name="path"/> (errors name the file and what is wrong).</summary>
    public static HfTokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"tokenizer file '{path}' does not exist", full);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"tokenizer file '{path}' cannot be read: {e.Message}", e);
        }
        return FromBytes(bytes, path);
    }

    /// <summary>Parses the content of a <c>tokenizer.json</c>; <paramref name="source"/> names it in errors.</summary>
    public static HfTokenizer FromBytes(byte[] bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        JsonDocument doc;
        var json = bytes.AsMemory();
        if (json.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) json = json[3..];   // a UTF-8 byte order mark
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 }); }
        catch (JsonException e)
        {
            throw Bad(source, $"not valid JSON ({e.Message})");
        }
        using (doc)
        {
            try
            {
                return Build(doc.RootElement, bytes, source);
            }
            catch (HfFormatException e)
            {
                throw Bad(source, e.Message);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException)
            {
                // A value of the wrong JSON kind (e.g. a number where a string belongs).
                throw Bad(source, $"malformed ({e.Message})");
            }
        }
    }

    private static InvalidDataException Bad(string source, string what) => new($"tokenizer file '{source}': {what}");

    private static HfTokenizer Build(JsonElement root, byte[] bytes, string source)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new HfFormatException("the top level is not a JSON object");
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new HfFormatException("no \"model\" object (not a Hugging Face tokenizer.json)");
        var bpe = HfBpeModel.Parse(model);
        var normalizer = root.TryGetProperty("normalizer", out var n) ? HfNormalizer.Parse(n) : null;
        var pre = root.TryGetProperty("pre_tokenizer", out var p) ? HfPreTokenizer.Parse(p) : null;
        var decoder = root.TryGetProperty("decoder", out var d) ? HfDecoder.Parse(d) : null;
        var added = new List<HfAddedToken>();
        if (root.TryGetProperty("added_tokens", out var at) && at.ValueKind != JsonValueKind.Null)
        {
            if (at.ValueKind != JsonValueKind.Array) throw new HfFormatException("\"added_tokens\" is not an array");
            // Ids as the Hugging Face library assigns them: the model's id when the content is in its vocabulary,
            // else the next free id after the vocabulary (the file's "id" is checked against this).
            int next = bpe.Count;
            var byContent = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var t in at.EnumerateArray())
            {
                var content = HfJson.String(t, "content") ?? throw new HfFormatException("an added token has no \"content\"");
                if (content.Length == 0) continue;
                int id;
                if (byContent.TryGetValue(content, out var seen)) id = seen;
                else if (bpe.Vocab.TryGetValue(content, out var v)) id = v;
                else
                {
                    id = next++;
                    if (bpe.HasId(id))
                        throw new HfFormatException($"added token '{content}' would get id {id}, which the model's vocabulary already uses");
                }
                if (t.TryGetProperty("id", out var declared) && declared.ValueKind == JsonValueKind.Number && !(declared.TryGetInt64(out long did) && did == id))
                    throw new HfFormatException($"added token '{content}' is declared with id {declared.GetRawText()} but takes id {id} (the vocabulary's id, else the next after it)");
                byContent[content] = id;
                bool normalized = HfJson.Bool(t, "normalized") ?? true;
                var matchText = content;
                if (normalized && normalizer != null) matchText = normalizer.Normalize(content);
                added.Add(new HfAddedToken(content, id, HfJson.Bool(t, "special") ?? false, HfJson.Bool(t, "single_word") ?? false,
                    HfJson.Bool(t, "lstrip") ?? false, HfJson.Bool(t, "rstrip") ?? false, normalized, matchText));
            }
        }
        return new HfTokenizer(source, bytes, bpe, normalizer, pre, decoder, added);
    }

    /// <summary>The path the tokenizer was read from.</summary>
    public string SourcePath { get; }
    /// <summary>The exact bytes of the file read (what <see cref="TextTokenizers.SaveForRun"/> writes).</summary>
    public ReadOnlySpan<byte> FileBytes => _fileBytes;
    /// <summary>The file's ids: its largest id + 1, added tokens included.</summary>
    public int FileVocabSize { get; }
    /// <summary>The file's added tokens (content, id, special), as it lists them.</summary>
    public IReadOnlyList<(string Content, int Id, bool Special)> AddedTokens => [.. _added.OrderBy(a => a.Id).Select(a => (a.Content, a.Id, a.Special))];

    /// <inheritdoc/>
    public string Name { get; }
    /// <inheritdoc/>
    public int VocabSize => FileVocabSize + 4;
    /// <inheritdoc/>
    public int TextIdCount => FileVocabSize;
    /// <inheritdoc/>
    public int PadId => FileVocabSize;
    /// <inheritdoc/>
    public int MaskId => FileVocabSize + 1;
    /// <inheritdoc/>
    public int BosId => FileVocabSize + 2;
    /// <inheritdoc/>
    public int EosId => FileVocabSize + 3;

    /// <summary>The file's id of <paramref name="token"/> (added tokens first, then the model's vocabulary), or null.</summary>
    public int? TokenToId(string token)
    {
        foreach (var a in _added) if (a.Content == token) return a.Id;
        return _model.Vocab.TryGetValue(token, out var id) ? id : null;
    }

    /// <inheritdoc/>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        // 1. Added tokens matched in the raw text; 2. the rest normalized, then added tokens matched in it.
        foreach (var (seg, segStart, rawId) in SplitAdded(text, _addedRaw, true))
        {
            if (rawId is int a) { ids.Add(a); continue; }
            var normalized = _normalizer?.Normalize(seg) ?? seg;
            foreach (var (piece, pieceStart, normId) in SplitAdded(normalized, _addedNorm, segStart))
            {
                if (normId is int b) { ids.Add(b); continue; }
                List<HfPiece> pieces = [new(piece, pieceStart)];
                if (_preTokenizer != null) pieces = _preTokenizer.Split(pieces);
                foreach (var w in pieces)
                    if (w.Text.Length > 0) _model.Tokenize(w.Text, ids);
            }
        }
        return [.. ids];
    }

    /// <summary>
    /// Splits <paramref name="text"/> on added tokens (leftmost-longest, with their single-word/lstrip/rstrip rules):
    /// (text, starts the input, null) for the parts between and (content, false, id) for each token; empty parts are dropped.
    /// </summary>
    private IEnumerable<(string Text, bool AtStart, int? Id)> SplitAdded(string text, Dictionary<char, HfAddedToken[]> table, bool atStart)
    {
        if (table.Count == 0)
        {
            if (text.Length > 0) yield return (text, atStart, null);
            yield break;
        }
        int startOffset = 0, i = 0;
        while (i < text.Length)
        {
            HfAddedToken? match = null;
            if (table.TryGetValue(text[i], out var candidates))
                foreach (var c in candidates)
                    if (i + c.Content.Length <= text.Length && string.CompareOrdinal(text, i, c.Content, 0, c.Content.Length) == 0) { match = c; break; }
            if (match is null) { i++; continue; }
            int start = i, stop = i + match.Content.Length;
            i = stop;
            if (match.SingleWord)
            {
                bool startSpace = start == 0 || !HfText.IsWordChar(text, start, before: true);
                bool stopSpace = stop == text.Length || !HfText.IsWordChar(text, stop, before: false);
                if (!startSpace || !stopSpace) continue;
            }
            if (match.LStrip)
            {
                int s = start;
                while (s > 0 && HfText.IsWhiteSpaceBefore(text, s, out var w)) s -= w;
                start = Math.Max(s, startOffset);
            }
            if (match.RStrip)
                while (stop < text.Length && HfText.IsWhiteSpaceAt(text, stop, out var w)) stop += w;
            if (startOffset < start) yield return (text[startOffset..start], atStart && startOffset == 0, null);
            yield return (match.Content, false, match.Id);
            startOffset = stop;
            i = stop;
        }
        if (startOffset < text.Length) yield return (text[startOffset..], atStart && startOffset == 0, null);
    }

    /// <inheritdoc/>
    public string Decode(IReadOnlyList<int> ids) => SpecialTokenDecoder.Decode(this, ids, DecodeFileIds);

    /// <summary>The Hugging Face decoding of file ids (ids without a token are skipped).</summary>
    public string DecodeFileIds(IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>(ids.Count);
        foreach (var id in ids)
        {
            if (_addedById.TryGetValue(id, out var a)) tokens.Add(a);
            else if (_model.TryGetToken(id, out var t)) tokens.Add(t);
        }
        return _decoder is null ? string.Join(" ", tokens) : string.Concat(_decoder.Decode(tokens));
    }
}

/// <summary>An error in a tokenizer.json's content (wrapped with the file name by <see cref="HfTokenizer"/>).</summary>
internal sealed class HfFormatException(string message) : Exception(message);

internal sealed record HfAddedToken(string Content, int Id, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized, string MatchText);

/// <summary>A pre-tokenized piece: its text and whether it starts at offset 0 of the input.</summary>
internal readonly record struct HfPiece(string Text, bool AtStart);

internal static class HfJson
{
    public static string? String(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw new HfFormatException($"\"{name}\" is not a string")
            : null;

    public static bool? Bool(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new HfFormatException($"\"{name}\" is not true or false"),
            }
            : null;

    public static int? Int(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw new HfFormatException($"\"{name}\" is not an integer")
            : null;

    public static string Type(JsonElement o, string what)
    {
        if (o.ValueKind != JsonValueKind.Object) throw new HfFormatException($"{what} is not a JSON object");
        return String(o, "type") ?? throw new HfFormatException($"{what} has no \"type\"");
    }

    /// <summary>A <c>{"String": s}</c> or <c>{"Regex": r}</c> pattern as a .NET regex.</summary>
    public static System.Text.RegularExpressions.Regex Pattern(JsonElement o, string what)
    {
        if (!o.TryGetProperty("pattern", out var p) || p.ValueKind != JsonValueKind.Object)
            throw new HfFormatException($"{what} has no \"pattern\" object");
        if (String(p, "String") is string s) return new(System.Text.RegularExpressions.Regex.Escape(s), System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        if (String(p, "Regex") is string r)
        {
            try { return new(WithoutPossessiveQuantifiers(r), System.Text.RegularExpressions.RegexOptions.CultureInvariant); }
            catch (ArgumentException e) { throw new HfFormatException($"{what}: regex '{r}' is not supported here ({e.Message})"); }
        }
        throw new HfFormatException($"{what}: the pattern is neither {{\"String\": …}} nor {{\"Regex\": …}}");
    }

    /// <summary>
    /// Rewrites the Oniguruma possessive quantifiers <c>X?+</c>, <c>X*+</c>, <c>X++</c>, which .NET lacks, as atomic groups
    /// <c>(?&gt;X?)</c> (the same matches); everything else is copied unchanged (<c>X{n,m}+</c> is not possessive in the
    /// Ruby syntax the library uses, and .NET refuses it, so such a file is refused).
    /// </summary>
    internal static string WithoutPossessiveQuantifiers(string re)
    {
        if (!re.Contains("?+") && !re.Contains("*+") && !re.Contains("++")) return re;
        var sb = new StringBuilder(re.Length + 16);
        var groups = new Stack<int>();
        int atom = -1;   // where the last quantifiable atom starts in sb
        for (int i = 0; i < re.Length;)
        {
            char c = re[i];
            int start = sb.Length;
            if (c == '\\')
            {
                int end = Math.Min(re.Length, i + 2);
                if (end < re.Length && i + 1 < re.Length && re[i + 1] is 'p' or 'P' or 'x' or 'k' && re[end] == '{')
                    end = re.IndexOf('}', end) is int close and >= 0 ? close + 1 : re.Length;
                sb.Append(re, i, end - i);
                i = end;
                atom = start;
            }
            else if (c == '[')
            {
                int j = i + 1;
                if (j < re.Length && re[j] == '^') j++;
                if (j < re.Length && re[j] == ']') j++;
                int depth = 1;
                for (; j < re.Length && depth > 0; j++)
                {
                    if (re[j] == '\\') { j++; continue; }
                    if (re[j] == '[') depth++;
                    else if (re[j] == ']') depth--;
                }
                sb.Append(re, i, j - i);
                i = j;
                atom = start;
            }
            else if (c == '(')
            {
                groups.Push(start);
                sb.Append(c);
                i++;
                atom = -1;
            }
            else if (c == ')')
            {
                sb.Append(c);
                i++;
                atom = groups.Count > 0 ? groups.Pop() : -1;
            }
            else if (c is '?' or '*' or '+' || (c == '{' && IsCountedQuantifier(re, i, out _)))
            {
                int end = c == '{' && IsCountedQuantifier(re, i, out var close) ? close + 1 : i + 1;
                var quantifier = re[i..end];
                i = end;
                if (atom >= 0 && c != '{' && i < re.Length && re[i] == '+')
                {
                    sb.Insert(atom, "(?>").Append(quantifier).Append(')');
                    i++;
                }
                else sb.Append(quantifier);
                atom = -1;
            }
            else
            {
                sb.Append(c);
                i++;
                atom = c is '|' or '^' or '$' ? -1 : start;
            }
        }
        return sb.ToString();
    }

    private static bool IsCountedQuantifier(string re, int i, out int close)
    {
        close = re.IndexOf('}', i);
        if (close < 0) return false;
        var body = re.AsSpan(i + 1, close - i - 1);
        if (body.IsEmpty) return false;
        foreach (var ch in body) if (ch is not (>= '0' and <= '9' or ',')) return false;
        return true;
    }
}
