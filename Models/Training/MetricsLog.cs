using System.Text.Json;

namespace LightNet.Models.Training;

/// <summary>Appends one JSON object per line to <c>metrics.jsonl</c> in the run directory.</summary>
public sealed class MetricsLog(string runDir)
{
    private readonly string _path = Path.Combine(runDir, "metrics.jsonl");

    /// <summary>Appends one record as a JSON line.</summary>
    internal void Write(IReadOnlyDictionary<string, object> record)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        File.AppendAllText(_path, JsonSerializer.Serialize(record) + "\n");
    }

    /// <summary>Reads the records back (for plots and tests).</summary>
    public IReadOnlyList<Dictionary<string, JsonElement>> Read() =>
        File.Exists(_path)
            ? File.ReadAllLines(_path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(l)!).ToList()
            : [];

    /// <summary>Truncates records past a step (a resumed run rewrites what the interrupted one logged after its checkpoint).</summary>
    public void TruncateAfter(long step)
    {
        if (!File.Exists(_path)) return;
        var keep = File.ReadAllLines(_path).Where(l =>
        {
            if (l.Length == 0) return false;
            using var d = JsonDocument.Parse(l);
            return !d.RootElement.TryGetProperty("step", out var s) || s.GetInt64() <= step;
        });
        File.WriteAllLines(_path, keep);
    }
}
