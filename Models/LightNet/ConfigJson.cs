using System.Text.Json;
using System.Text.Json.Nodes;

namespace LightNet.Models.LightNet;

/// <summary>Typed reads from a JSON config object; a missing required key is an error naming it.</summary>
internal sealed class ConfigJson
{
    private readonly JsonObject _o;
    private readonly string _source;

    private ConfigJson(JsonObject o, string source) { _o = o; _source = source; }

    /// <summary>Parses JSON text; malformed text or a non-object is an <see cref="InvalidDataException"/>.</summary>
    public static ConfigJson Parse(string json, string source)
    {
        return new ConfigJson(ParseObject(json, source), source);
    }

    /// <summary>
    /// Parses JSON text that must be an object: malformed text, a non-object and a key given twice (at any depth:
    /// which one a reader takes is not defined) are each an <see cref="InvalidDataException"/> naming the source.
    /// </summary>
    public static JsonObject ParseObject(string json, string source)
    {
        try
        {
            var o = JsonNode.Parse(json, null, new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 64 }) as JsonObject
                    ?? throw new InvalidDataException($"{source}: config is not a JSON object");
            _ = o.Count;   // materializes the properties (a duplicate key would otherwise surface on first access)
            return o;
        }
        catch (JsonException e) { throw new InvalidDataException($"{source}: malformed config JSON ({e.Message})", e); }
        catch (ArgumentException e) { throw new InvalidDataException($"{source}: malformed config JSON ({e.Message})", e); }
    }

    /// <summary>A JSON value as text for an error message (a string with a lone surrogate escape cannot be written back: described instead).</summary>
    public static string Show(JsonNode? n)
    {
        try { return n?.ToJsonString() ?? "null"; }
        catch (InvalidOperationException) { return "a string that is not valid UTF-16"; }
    }

    /// <summary>The string of a JSON value; false for a non-string and for a string that is not valid UTF-16 (a lone surrogate escape).</summary>
    public static bool TryString(JsonValue v, out string s)
    {
        try { return v.TryGetValue(out s!); }
        catch (InvalidOperationException) { s = ""; return false; }
    }

    /// <summary>The file (or other source) named in errors.</summary>
    public string Source => _source;

    private JsonNode? Node(string key) => _o.TryGetPropertyValue(key, out var n) ? n : null;

    public bool Has(string key) => Node(key) != null;

    /// <summary>Wraps an already parsed object.</summary>
    public static ConfigJson Of(JsonObject o, string source) => new(o, source);

    /// <summary>An integer (an integral float such as 4.0 is taken); a fraction or a value outside the 32-bit range is an error naming the key, never saturated.</summary>
    public int? OptInt(string key) => Node(key) is JsonValue v ? (v.TryGetValue<int>(out var i) ? i : v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue ? (int)d : throw Bad(key, "an integer in the 32-bit range")) : null;
    /// <summary>A finite number (1e400 reads as infinity, which no key means and which cannot be written back to JSON).</summary>
    public double? OptDouble(string key) => Node(key) is JsonValue v ? (v.TryGetValue<double>(out var d) && double.IsFinite(d) ? d : throw Bad(key, "a finite number")) : null;
    public bool? OptBool(string key) => Node(key) is JsonValue v ? (v.TryGetValue<bool>(out var b) ? b : throw Bad(key, "true or false")) : null;
    public string? OptString(string key) => Node(key) is JsonValue v ? (TryString(v, out var s) ? s : throw Bad(key, "a string of valid text")) : null;
    public int[]? OptInts(string key) => Node(key) is JsonArray a ? a.Select(x => x is JsonValue v && v.TryGetValue<int>(out var i) ? i : throw Bad(key, "a list of integers")).ToArray() : Node(key) is null ? null : throw Bad(key, "a list of integers");

    public int Int(string key) => OptInt(key) ?? throw Missing(key);
    public double Double(string key) => OptDouble(key) ?? throw Missing(key);
    public bool Bool(string key) => OptBool(key) ?? throw Missing(key);
    public int[] Ints(string key) => OptInts(key) ?? throw Missing(key);

    /// <summary>A config record as JSON with snake_case keys (the golden-file names); computed members are skipped.</summary>
    public static string Serialize(object config) => JsonSerializer.Serialize(config, config.GetType(), new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    });

    private InvalidDataException Missing(string key) => new($"{_source}: required config key '{key}' is missing");
    private InvalidDataException Bad(string key, string what) => new($"{_source}: config key '{key}' must be {what}");
}

/// <summary>
/// Range checks of a config read from a file, run before any model is built: sizes at least 1 and at most
/// <see cref="MaxSize"/>, heads dividing the width, finite positive epsilons, and an estimate of the parameter
/// count at most <see cref="MaxParameters"/>, so a damaged config.json is a named <see cref="InvalidDataException"/>
/// (file and key) instead of a crash, a hang or an absurd allocation.
/// </summary>
internal sealed class ConfigChecks(string source)
{
    /// <summary>Largest size (width, vocabulary, layers, heads, …) a config may give.</summary>
    public const int MaxSize = 1 << 20;
    /// <summary>Largest parameter count (elements) a config may describe: 2^33.</summary>
    public const double MaxParameters = 8589934592.0;

    public InvalidDataException Error(string key, string what) => new($"{source}: config key '{key}' {what}");

    /// <summary>An integer in [min, max].</summary>
    public void Size(string key, long value, long min = 1, long max = MaxSize)
    {
        if (value < min || value > max) throw Error(key, $"is {value}, must be in [{min}, {max}]");
    }

    /// <summary>A finite number &gt; 0.</summary>
    public void Positive(string key, double value)
    {
        if (!double.IsFinite(value) || value <= 0) throw Error(key, $"is {value}, must be a finite number > 0");
    }

    /// <summary>A finite number.</summary>
    public void Finite(string key, double value)
    {
        if (!double.IsFinite(value)) throw Error(key, $"is {value}, must be finite");
    }

    /// <summary>fla's attention sizing: num_heads and/or expand_ratio (head_k_dim), heads dividing the width.</summary>
    public void Attention(int hidden, int? heads, int? headDim, string headDimKey)
    {
        if (heads is null && headDim is null) throw Error("num_heads", $"and '{headDimKey}' are both missing; one of them must be given");
        if (heads is int h)
        {
            Size("num_heads", h, 1, hidden);
            if (hidden % h != 0) throw Error("num_heads", $"is {h}, which does not divide hidden_size {hidden}");
        }
        if (headDim is int d)
        {
            Size(headDimKey, d);
            if (heads is null && (d > hidden || hidden % d != 0)) throw Error(headDimKey, $"is {d}, which does not divide hidden_size {hidden} (num_heads = hidden_size / {headDimKey})");
        }
    }

    /// <summary>The MLP width: intermediate_size, or fla's rule from hidden_ratio.</summary>
    public void Intermediate(int hidden, int? intermediate, double hiddenRatio)
    {
        if (intermediate is int i) { Size("intermediate_size", i); return; }
        Positive("hidden_ratio", hiddenRatio);
        double raw = hidden * hiddenRatio * 2 / 3;
        if (raw > MaxSize) throw Error("hidden_ratio", $"is {hiddenRatio}: the MLP width hidden_size × hidden_ratio × 2/3 = {raw:G4} is above {MaxSize}");
        Size("hidden_ratio", Nn.GatedMlp.DefaultIntermediate(hidden, hiddenRatio), 1, MaxSize + 256);
    }

    /// <summary>The parameter-count estimate against <see cref="MaxParameters"/>.</summary>
    public void Parameters(double estimate)
    {
        if (!(estimate <= MaxParameters))
            throw new InvalidDataException($"{source}: the config describes about {estimate:G3} parameters, more than the {MaxParameters:G3} this engine allocates (check hidden_size, vocab_size, num_hidden_layers, intermediate_size)");
    }

    /// <summary>Parameters of one LightNet-style block: q, k (c → h·d), v, o (c → c), the gate (c → r → c), the MLP (3 · c · I) and two norms.</summary>
    public static double BlockParameters(double c, double keyDim, double r, double mlp) => 2 * c * keyDim + 2 * c * c + 2 * c * r + 3 * c * mlp + 3 * c;
}
