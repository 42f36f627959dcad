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

/// <summary>What each task's training loss (the <c>loss</c> of metrics.jsonl) measures, as plot labels.</summary>
public static class LossNames
{
    /// <summary>Causal LM: mean cross-entropy of the next token.</summary>
    public const string CausalLM = "cross-entropy (nats per token)";
    /// <summary>Masked LM: mean cross-entropy over the masked positions.</summary>
    public const string MaskedLM = "cross-entropy (nats per masked token)";
    /// <summary>Image classification: mean cross-entropy of the label.</summary>
    public const string Classifier = "cross-entropy (nats per image)";
    /// <summary>DiT (DDPM): mean squared error of the predicted noise ε.</summary>
    public const string Diffusion = "MSE of the predicted noise";

    /// <summary>
    /// The loss name of a run directory's task, read from its config.json (for runs plotted after the fact):
    /// a DiT config has <c>diffusion_steps</c>, a masked LM <c>mask_token_id</c>, a classifier <c>num_classes</c>;
    /// anything else is a causal LM. Null when there is no readable config.json.
    /// </summary>
    public static string? ForRun(string runDir)
    {
        var path = Path.Combine(runDir, "config.json");
        if (!File.Exists(path)) return null;
        try
        {
            using var d = JsonDocument.Parse(File.ReadAllText(path));
            var o = d.RootElement;
            if (o.ValueKind != JsonValueKind.Object) return null;
            return o.TryGetProperty("diffusion_steps", out _) ? Diffusion
                : o.TryGetProperty("mask_token_id", out _) ? MaskedLM
                : o.TryGetProperty("num_classes", out _) ? Classifier
                : CausalLM;
        }
        catch (JsonException) { return null; }
    }
}
