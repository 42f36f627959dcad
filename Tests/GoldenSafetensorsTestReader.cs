using System.Buffers.Binary;
using System.Text.Json;

namespace LightNet.Tests;

/// <summary>
/// TEST-ONLY minimal safetensors reader for the golden files (F64 and I64 tensors only), used until the
/// engine's own safetensors reader lands on main. Validates the header length, JSON, dtypes, shapes and
/// that every tensor's byte range lies inside the data section without overlap.
/// </summary>
internal sealed class GoldenSafetensorsTestReader
{
    private readonly Dictionary<string, (string DType, int[] Shape, byte[] Bytes)> _tensors = new();

    /// <summary>Metadata strings (<c>__metadata__</c>).</summary>
    public Dictionary<string, string> Metadata { get; } = new();

    public GoldenSafetensorsTestReader(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"{path}: {bytes.Length} bytes, shorter than the 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > (ulong)(bytes.Length - 8)) throw new InvalidDataException($"{path}: header length {n} exceeds the file ({bytes.Length} bytes)");
        int dataStart = 8 + (int)n;
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var ranges = new List<(long Begin, long End, string Name)>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                foreach (var m in prop.Value.EnumerateObject()) Metadata[m.Name] = m.Value.GetString() ?? "";
                continue;
            }
            string dt = prop.Value.GetProperty("dtype").GetString()!;
            if (dt is not ("F64" or "I64")) throw new InvalidDataException($"{path}: tensor '{prop.Name}' has dtype {dt}; this test reader handles F64 and I64 only");
            var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            if (shape.Any(d => d < 0)) throw new InvalidDataException($"{path}: tensor '{prop.Name}' has a negative dimension");
            var off = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long numel = shape.Aggregate(1L, (a, d) => a * d);
            if (off.Length != 2 || off[0] < 0 || off[1] < off[0] || off[1] - off[0] != numel * 8 || dataStart + off[1] > bytes.Length)
                throw new InvalidDataException($"{path}: tensor '{prop.Name}' {Shape.Format(shape)} has bad data_offsets [{string.Join(", ", off)}]");
            ranges.Add((off[0], off[1], prop.Name));
            _tensors[prop.Name] = (dt, shape, bytes.AsSpan(dataStart + (int)off[0], (int)(off[1] - off[0])).ToArray());
        }
        ranges.Sort();
        for (int i = 1; i < ranges.Count; i++)
            if (ranges[i].Begin < ranges[i - 1].End) throw new InvalidDataException($"{path}: tensors '{ranges[i - 1].Name}' and '{ranges[i].Name}' overlap");
    }

    public IEnumerable<string> Names => _tensors.Keys;

    public bool Has(string name) => _tensors.ContainsKey(name);

    public int[] ShapeOf(string name) => Get(name).Shape;

    private (string DType, int[] Shape, byte[] Bytes) Get(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"golden file has no tensor '{name}'");

    /// <summary>An F64 tensor as doubles (little-endian).</summary>
    public double[] Doubles(string name)
    {
        var t = Get(name);
        if (t.DType != "F64") throw new InvalidDataException($"tensor '{name}' is {t.DType}, not F64");
        var v = new double[t.Bytes.Length / 8];
        for (int i = 0; i < v.Length; i++) v[i] = BinaryPrimitives.ReadDoubleLittleEndian(t.Bytes.AsSpan(i * 8));
        return v;
    }

    /// <summary>An F64 tensor converted to <paramref name="dtype"/>.</summary>
    public Tensor Tensor(string name, DType dtype = DType.Float64)
    {
        using var t = LightNet.Tensor.FromArray(Doubles(name), Get(name).Shape);
        return t.To(dtype);
    }

    /// <summary>The metadata <c>config</c> JSON.</summary>
    public JsonElement Config() => JsonDocument.Parse(Metadata["config"]).RootElement.Clone();

    public static string GoldenPath(string file) => Path.Combine(Environment.GetEnvironmentVariable("LIGHTNET_GOLDEN") ?? "/work/shared/golden", file);
}
