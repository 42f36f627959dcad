using System.Text.Json;
using LightNet.Autograd;

namespace LightNet.Cli.Golden;

/// <summary>
/// What a <see cref="IGoldenKind"/> handler sees: the open golden file, the compute dtype and device, and
/// typed access to its metadata and its JSON <c>config</c> (a missing required key is a
/// <see cref="GoldenFileException"/> naming it; keys nobody asks for are ignored).
/// </summary>
public sealed class GoldenContext
{
    private readonly JsonElement _config;

    /// <summary>Creates a context over an open file; parses the metadata <c>config</c> (absent = empty).</summary>
    public GoldenContext(SafetensorsFile file, DType dtype, Device device)
    {
        File = file;
        DType = dtype;
        Device = device;
        var json = file.Metadata.TryGetValue("config", out var c) ? c : "{}";
        try
        {
            using var doc = JsonDocument.Parse(json);
            _config = doc.RootElement.Clone();
        }
        catch (JsonException e) { throw Error($"metadata 'config' is not valid JSON ({e.Message})"); }
        if (_config.ValueKind != JsonValueKind.Object) throw Error($"metadata 'config' must be a JSON object, got {_config.ValueKind}");
    }

    /// <summary>The golden file.</summary>
    public SafetensorsFile File { get; }
    /// <summary>Compute dtype (float32 or float64).</summary>
    public DType DType { get; }
    /// <summary>Compute device.</summary>
    public Device Device { get; }

    /// <summary>True when the file stores a tensor of this name.</summary>
    public bool Has(string name) => File.Contains(name);

    private readonly HashSet<string> _inputs = new(StringComparer.Ordinal);

    /// <summary>The stored tensors the handler read as inputs (through <see cref="Load"/>); the runner compares every other one.</summary>
    public IReadOnlyCollection<string> Inputs => _inputs;

    /// <summary>A stored tensor converted to <paramref name="dtype"/> (default: the compute dtype) on the compute device.</summary>
    public Tensor Load(string name, DType? dtype = null)
    {
        if (!File.Contains(name)) throw Error($"missing tensor '{name}'");
        _inputs.Add(name);
        return File.Load(name, dtype ?? DType, Device);
    }

    /// <summary>A stored tensor as a graph leaf in the compute dtype, recording gradients unless told otherwise.</summary>
    public Variable Leaf(string name, bool requiresGrad = true) => new(Load(name), requiresGrad, name);

    /// <summary>A metadata string; a <see cref="GoldenFileException"/> when absent.</summary>
    public string Metadata(string key) =>
        File.Metadata.TryGetValue(key, out var v) ? v : throw Error($"missing metadata key '{key}'");

    /// <summary>True when the config has this key (with any value, null included).</summary>
    public bool HasConfig(string key) => _config.TryGetProperty(key, out _);

    /// <summary>A required config number.</summary>
    public double ConfigDouble(string key)
    {
        var e = Config(key);
        return e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw Error($"config key '{key}' must be a number, got {e.GetRawText()}");
    }

    /// <summary>A required config integer.</summary>
    public int ConfigInt(string key)
    {
        var e = Config(key);
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : throw Error($"config key '{key}' must be an integer, got {e.GetRawText()}");
    }

    /// <summary>A config integer that may be absent or null.</summary>
    public int? ConfigIntOrNull(string key) =>
        _config.TryGetProperty(key, out var e) && e.ValueKind != JsonValueKind.Null ? ConfigInt(key) : null;

    /// <summary>A required config boolean.</summary>
    public bool ConfigBool(string key)
    {
        var e = Config(key);
        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error($"config key '{key}' must be true or false, got {e.GetRawText()}"),
        };
    }

    /// <summary>A required config string.</summary>
    public string ConfigString(string key)
    {
        var e = Config(key);
        return e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Error($"config key '{key}' must be a string, got {e.GetRawText()}");
    }

    /// <summary>A required config array of integers.</summary>
    public int[] ConfigInts(string key)
    {
        var e = Config(key);
        if (e.ValueKind != JsonValueKind.Array) throw Error($"config key '{key}' must be an array of integers, got {e.GetRawText()}");
        return [.. e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var v) ? v
            : throw Error($"config key '{key}' must be an array of integers, got {e.GetRawText()}"))];
    }

    /// <summary>
    /// A required number that the metadata may carry at full precision as a string (e.g. <c>scale</c>):
    /// the metadata value when present, else the config value.
    /// </summary>
    public double MetadataOrConfigDouble(string key)
    {
        if (!File.Metadata.TryGetValue(key, out var s)) return ConfigDouble(key);
        return double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v : throw Error($"metadata '{key}' is not a number ('{s}')");
    }

    /// <summary>A <see cref="GoldenFileException"/> naming the file.</summary>
    public GoldenFileException Error(string message) => new($"golden file '{File.Path}': {message}");

    private JsonElement Config(string key) =>
        _config.TryGetProperty(key, out var e) ? e : throw Error($"missing required config key '{key}'");
}
