using System.Text.Json;

namespace LightNet;

/// <summary>Parses and validates a safetensors JSON header against the size of the data section.</summary>
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
                if (!seen.Add(prop.Name)) throw Bad(file, $"key '{prop.Name}' appears twice in the header");
                if (prop.Name == MetadataKey) ReadMetadata(prop.Value, metadata, file);
                else tensors.Add(ReadTensor(prop.Name, prop.Value, dataLength, file));
            }
            CheckNoOverlap(tensors, file);
            return (tensors, metadata);
        }
    }

    private static void ReadMetadata(JsonElement e, Dictionary<string, string> metadata, string file)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Bad(file, $"'{MetadataKey}' must be an object of strings, got {e.ValueKind}");
        foreach (var p in e.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String) throw Bad(file, $"'{MetadataKey}' entry '{p.Name}' must be a string, got {p.Value.ValueKind}");
            if (!metadata.TryAdd(p.Name, p.Value.GetString()!)) throw Bad(file, $"'{MetadataKey}' entry '{p.Name}' appears twice");
        }
    }

    private static SafetensorsTensorInfo ReadTensor(string name, JsonElement e, long dataLength, string file)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Bad(file, name, $"entry must be an object, got {e.ValueKind}");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Bad(file, name, "missing string field 'dtype'");
        var dtName = dt.GetString()!;
        if (!SafetensorsDTypeInfo.TryParse(dtName, out var dtype))
            throw Bad(file, name, $"unknown dtype '{dtName}' (expected one of BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64, F8_E4M3, F8_E5M2)");
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad(file, name, "missing array field 'shape'");
        var dims = new int[sh.GetArrayLength()];
        long numel = 1;
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var v)) throw Bad(file, name, $"shape entry {i} is not an integer ({d.GetRawText()})");
            if (v < 0) throw Bad(file, name, $"shape entry {i} is negative ({v})");
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
        if (v < 0) throw Bad(file, name, $"data_offsets {which} is negative ({v})");
        return v;
    }

    private static void CheckNoOverlap(List<SafetensorsTensorInfo> tensors, string file)
    {
        var byStart = tensors.Where(t => t.End > t.Begin).OrderBy(t => t.Begin).ToList();
        for (int i = 1; i < byStart.Count; i++)
            if (byStart[i].Begin < byStart[i - 1].End)
                throw Bad(file, $"tensors '{byStart[i - 1].Name}' [{byStart[i - 1].Begin}, {byStart[i - 1].End}) and '{byStart[i].Name}' [{byStart[i].Begin}, {byStart[i].End}) overlap");
    }

    /// <summary>An <see cref="InvalidDataException"/> naming the file.</summary>
    public static InvalidDataException Bad(string file, string message) => new($"safetensors file '{file}': {message}");

    /// <summary>An <see cref="InvalidDataException"/> naming the file and the tensor.</summary>
    public static InvalidDataException Bad(string file, string tensor, string message) => new($"safetensors file '{file}': tensor '{tensor}': {message}");
}
