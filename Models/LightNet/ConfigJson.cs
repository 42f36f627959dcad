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
        try
        {
            return new ConfigJson(JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source}: config is not a JSON object"), source);
        }
        catch (JsonException e) { throw new InvalidDataException($"{source}: malformed config JSON ({e.Message})", e); }
    }

    private JsonNode? Node(string key) => _o.TryGetPropertyValue(key, out var n) ? n : null;

    public bool Has(string key) => Node(key) != null;

    public int? OptInt(string key) => Node(key) is JsonValue v ? (v.TryGetValue<int>(out var i) ? i : v.TryGetValue<double>(out var d) && d == Math.Floor(d) ? (int)d : throw Bad(key, "an integer")) : null;
    public double? OptDouble(string key) => Node(key) is JsonValue v ? (v.TryGetValue<double>(out var d) ? d : throw Bad(key, "a number")) : null;
    public bool? OptBool(string key) => Node(key) is JsonValue v ? (v.TryGetValue<bool>(out var b) ? b : throw Bad(key, "true or false")) : null;
    public string? OptString(string key) => Node(key) is JsonValue v ? (v.TryGetValue<string>(out var s) ? s : throw Bad(key, "a string")) : null;
    public int[]? OptInts(string key) => Node(key) is JsonArray a ? a.Select(x => x is JsonValue v && v.TryGetValue<int>(out var i) ? i : throw Bad(key, "a list of integers")).ToArray() : null;

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
