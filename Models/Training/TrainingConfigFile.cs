using System.Reflection;
using System.Text.Json;

namespace LightNet.Models.Training;

/// <summary>
/// <c>training_config.json</c> in a run directory: the whole training configuration (every flag of the command with the
/// value it had, under snake_case keys named after the flags, plus <c>command</c>, <c>task</c>, <c>threads</c>,
/// <c>engine_version</c> and <c>commit</c>). <c>config.json</c> beside it describes the model; this file describes how
/// it was trained, and a resumed run takes its values from here.
/// </summary>
public static class TrainingConfigFile
{
    /// <summary>File name inside the run directory.</summary>
    public const string FileName = "training_config.json";

    /// <summary>The file's path in <paramref name="runDir"/>.</summary>
    public static string PathIn(string runDir) => Path.Combine(runDir, FileName);

    /// <summary>The engine's version, e.g. <c>0.1.0</c>.</summary>
    public static string EngineVersion => VersionParts().Version;

    /// <summary>The git commit the engine was built from, or <c>unknown</c>.</summary>
    public static string Commit => VersionParts().Commit;

    private static (string Version, string Commit) VersionParts()
    {
        var info = typeof(TrainingConfigFile).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        int plus = info.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? (info, "unknown") : (info[..plus], info[(plus + 1)..]);
    }

    /// <summary>Writes <paramref name="values"/> (with the engine version and commit added) atomically.</summary>
    public static void Write(string runDir, IReadOnlyDictionary<string, object?> values)
    {
        var all = new SortedDictionary<string, object?>(values.ToDictionary(), StringComparer.Ordinal)
        {
            ["engine_version"] = EngineVersion,
            ["commit"] = Commit,
        };
        Directory.CreateDirectory(runDir);
        global::LightNet.IO.DurableFile.WriteAtomic(PathIn(runDir), JsonSerializer.Serialize(all, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The recorded values, or null when the run has no such file; a malformed file is an <see cref="InvalidDataException"/>.</summary>
    public static IReadOnlyDictionary<string, JsonElement>? Read(string runDir)
    {
        var path = PathIn(runDir);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path}: empty training configuration");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: malformed training configuration ({e.Message})", e); }
    }

    /// <summary>The task a run directory holds (<c>classify</c>, <c>lm</c>, <c>mlm</c>, <c>generate</c>, <c>video</c>), from this file or, for runs without it, from the keys of its config.json; null when neither tells.</summary>
    public static string? TaskOf(string runDir)
    {
        if (Read(runDir) is { } rec && rec.TryGetValue("task", out var t) && t.ValueKind == JsonValueKind.String) return t.GetString();
        var cfg = Path.Combine(runDir, "config.json");
        if (!File.Exists(cfg)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(cfg));
            var o = doc.RootElement;
            if (o.ValueKind != JsonValueKind.Object) return null;
            bool Has(string k) => o.TryGetProperty(k, out _);
            if (Has("architectures") || Has("model_type")) return "lm";
            if (Has("mask_token_id")) return "mlm";
            if (Has("diffusion_steps")) return "generate";
            if (Has("num_frames")) return "video";
            if (Has("num_classes") && Has("image_height")) return "classify";
            return null;
        }
        catch (JsonException) { return null; }
    }
}
