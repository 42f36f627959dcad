using System.Text.Json;

namespace LightNet;

/// <summary>
/// Parses and validates a safetensors JSON header against the size of the data section, by Hugging Face's rules
/// (<c>safetensors/src/tensor.rs</c>: <c>read_metadata</c>, <c>Metadata::validate</c>); see <see cref="SafetensorsFile"/>.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>The metadata key of the header (not a tensor).</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Largest header accepted (the Hugging Face reader's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 16, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>Tensor entries (in header order) and the metadata map of a header.</summary>
    public static (List<SafetensorsTensorInfo> Tensors, Dictionary<string, string> Metadata) Parse(ReadOnlyMemory<byte> json, long dataLength, string file)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json.Span)) throw Bad(file, "header is not valid UTF-8");
        if (json.Span.StartsWith("\uFEFF"u8)) throw Bad(file, "header starts with a byte-order mark, which is not JSON");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, Options); }
        catch (JsonException e) { throw Bad(file, $"header is not valid JSON ({e.Message})"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad(file, $"header must be a JSON object, got {root.ValueKind}");
            var tensors = new List<SafetensorsTensorInfo>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in root.EnumerateObject())
            {
                var name = Text(prop, file, null);
                if (!seen.Add(name)) throw Bad(file, $"key '{name}' appears twice in the header");
                if (name == MetadataKey) ReadMetadata(prop.Value, metadata, file);
                else tensors.Add(ReadTensor(name, prop.Value, dataLength, file));
            }
            CheckTiling(tensors, dataLength, file);
            return (tensors, metadata);
        }
    }

    private static void ReadMetadata(JsonElement e, Dictionary<string, string> metadata, string file)
    {
        if (e.ValueKind == JsonValueKind.Null) return;   // Hugging Face reads null as no metadata
        if (e.ValueKind != JsonValueKind.Object) throw Bad(file, $"'{MetadataKey}' must be an object of strings, got {e.ValueKind}");
        foreach (var p in e.EnumerateObject())
        {
            var key = Text(p, file, null);
            if (p.Value.ValueKind != JsonValueKind.String) throw Bad(file, $"'{MetadataKey}' entry '{key}' must be a string, got {p.Value.ValueKind}");
            if (!metadata.TryAdd(key, Text(p.Value, file, null, $"'{MetadataKey}' entry '{key}'"))) throw Bad(file, $"'{MetadataKey}' entry '{key}' appears twice");
        }
    }

    private static SafetensorsTensorInfo ReadTensor(string name, JsonElement e, long dataLength, string file)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Bad(file, name, $"entry must be an object, got {e.ValueKind}");
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
            if (!fields.Add(Text(p, file, name))) throw Bad(file, name, $"field '{p.Name}' appears twice");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Bad(file, name, "missing string field 'dtype'");
        var dtName = Text(dt, file, name, "'dtype'");
        if (!SafetensorsDTypeInfo.TryParse(dtName, out var dtype))
            throw Bad(file, name, $"unknown dtype '{dtName}' (expected one of BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64, F8_E4M3, F8_E5M2)");
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad(file, name, "missing array field 'shape'");
        var dims = new int[sh.GetArrayLength()];
        long numel = 1;
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var v)) throw Bad(file, name, $"shape entry {i} is not an integer ({d.GetRawText()})");
            if (v < 0 || d.GetRawText().StartsWith('-')) throw Bad(file, name, $"shape entry {i} is negative ({d.GetRawText()})");
            if (v > int.MaxValue) throw Bad(file, name, $"shape entry {i} ({v}) exceeds {int.MaxValue}");
            dims[i++] = (int)v;
            if (numel != 0 && v != 0 && numel > long.MaxValue / v) throw Bad(file, name, $"shape {sh.GetRawText()} has more elements than fit in 64 bits");
            numel *= v;
        }
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad(file, name, "missing field 'data_offsets' of two integers");
        var begin = Offset(off[0], "begin", name, file);
        var end = Offset(off[1], "end", name, file);
        if (begin > end) throw Bad(file, name, $"data_offsets begin {begin} is after end {end}");
        if (end > dataLength) throw Bad(file, name, $"data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes)");
        if (numel > long.MaxValue / dtype.Size()) throw Bad(file, name, $"shape {sh.GetRawText()} of {dtName} has more bytes than fit in 64 bits");
        long bytes = numel * dtype.Size();
        if (bytes != end - begin)
            throw Bad(file, name, $"{dtName} shape {Shape.Format(dims)} needs {bytes} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
        return new SafetensorsTensorInfo(name, dtype, new Shape(dims), begin, end);
    }

    private static long Offset(JsonElement e, string which, string name, string file)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out var v)) throw Bad(file, name, $"data_offsets {which} is not an integer ({e.GetRawText()})");
        if (v < 0 || e.GetRawText().StartsWith('-')) throw Bad(file, name, $"data_offsets {which} is negative ({e.GetRawText()})");
        return v;
    }

    /// <summary>
    /// Hugging Face's <c>Metadata::validate</c> and the check after it: sorted by data offsets, the tensors tile the data
    /// section, the first starting at 0, each where the previous one ends, the last ending at its end.
    /// </summary>
    private static void CheckTiling(List<SafetensorsTensorInfo> tensors, long dataLength, string file)
    {
        var sorted = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ToList();
        long expected = 0;
        SafetensorsTensorInfo? previous = null;
        foreach (var t in sorted)
        {
            if (t.Begin < expected)
                throw Bad(file, t.Name, $"data_offsets [{t.Begin}, {t.End}) overlap tensor '{previous!.Name}' [{previous.Begin}, {previous.End})");
            if (t.Begin > expected)
                throw Bad(file, t.Name, $"data_offsets [{t.Begin}, {t.End}) leave a gap: bytes [{expected}, {t.Begin}) of the data section belong to no tensor"
                    + (previous == null ? " (the first tensor must start at 0)" : $" (the previous tensor '{previous.Name}' ends at {previous.End})"));
            expected = t.End;
            previous = t;
        }
        if (expected != dataLength)
            throw previous == null
                ? Bad(file, $"the header declares no tensor data but the data section is {dataLength} bytes (wrong header length, or trailing bytes)")
                : Bad(file, previous.Name, $"the last tensor ends at byte {expected} of a {dataLength}-byte data section: the header length or the offsets are wrong, or bytes trail the data");
    }

    /// <summary>A property's name; a lone UTF-16 surrogate escape (<c>\ud800</c>) in it is an <see cref="InvalidDataException"/>.</summary>
    private static string Text(JsonProperty p, string file, string? tensor)
    {
        try { return p.Name; }
        catch (InvalidOperationException) { throw Unpaired(file, tensor, "a key"); }
    }

    /// <summary>A string value; a lone UTF-16 surrogate escape in it is an <see cref="InvalidDataException"/>.</summary>
    private static string Text(JsonElement e, string file, string? tensor, string what)
    {
        try { return e.GetString()!; }
        catch (InvalidOperationException) { throw Unpaired(file, tensor, what); }
    }

    private static InvalidDataException Unpaired(string file, string? tensor, string what)
    {
        var m = $"{what} holds an escaped lone UTF-16 surrogate (such as \\ud800), which is not Unicode text";
        return tensor == null ? Bad(file, m) : Bad(file, tensor, m);
    }

    /// <summary>An <see cref="InvalidDataException"/> naming the file.</summary>
    public static InvalidDataException Bad(string file, string message) => new($"safetensors file '{file}': {message}");

    /// <summary>An <see cref="InvalidDataException"/> naming the file and the tensor.</summary>
    public static InvalidDataException Bad(string file, string tensor, string message) => new($"safetensors file '{file}': tensor '{tensor}': {message}");
}
