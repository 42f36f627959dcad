using System.Text;
using System.Text.Json;
using LightNet.IO;

namespace LightNet.Models.Training;

/// <summary>
/// Appends one JSON object per line to <c>metrics.jsonl</c> in the run directory.
/// <para>
/// Damage rules. An append that a crash or a full disk interrupts leaves a torn (partial or unparsable) last line:
/// <see cref="Read"/> skips it, and a resumed run rewrites the file (<see cref="TruncateTo"/>, atomically: temporary
/// file, then rename) to exactly the records of its checkpoint, dropping it. A malformed line anywhere before the last
/// is not something an interrupted append produces: it is an <see cref="InvalidDataException"/> naming the file and the
/// line number (the file was edited or damaged otherwise, and silently dropping records would hide it).
/// </para>
/// </summary>
public sealed class MetricsLog(string runDir)
{
    private readonly string _path = System.IO.Path.Combine(runDir, "metrics.jsonl");

    /// <summary>The log's path.</summary>
    public string Path => _path;

    /// <summary>Records in the file as this process knows it (after <see cref="TruncateTo"/>/<see cref="TruncateAfter"/> and its own appends); what a checkpoint records.</summary>
    public long Count { get; private set; }

    /// <summary>Appends one record as a JSON line (one write: a failure leaves at most a torn last line).</summary>
    internal void Write(IReadOnlyDictionary<string, object> record)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_path)!);
        DurableFile.Append(_path, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(record) + "\n"));
        Count++;
    }

    /// <summary>Reads the records back (for plots and tests), skipping a torn last line; a malformed earlier line is an <see cref="InvalidDataException"/>.</summary>
    public IReadOnlyList<Dictionary<string, JsonElement>> Read() => Parse().Records.Select(r => r.Record).ToList();

    /// <summary>
    /// Rewrites the log to the records whose <c>step</c> is at most <paramref name="step"/> (records without a step are kept),
    /// dropping a torn last line; for checkpoints that do not record how many lines the log had.
    /// </summary>
    public void TruncateAfter(long step)
    {
        var (records, text) = Parse();
        Rewrite(records.Where(r => r.Step is not long s || s <= step).ToList(), text);
    }

    /// <summary>
    /// Rewrites the log to its first <paramref name="records"/> records (the count a checkpoint recorded), dropping a torn last
    /// line and everything logged after the checkpoint; the file is replaced atomically, and left untouched when nothing changes.
    /// </summary>
    public void TruncateTo(long records)
    {
        var (all, text) = Parse();
        Rewrite(all.Take((int)Math.Min(int.MaxValue, Math.Max(0, records))).ToList(), text);
    }

    private void Rewrite(List<Line> keep, string? oldText)
    {
        Count = keep.Count;
        if (oldText == null) return;
        var sb = new StringBuilder();
        foreach (var l in keep) sb.Append(l.Text).Append('\n');
        var text = sb.ToString();
        if (text == oldText) return;
        DurableFile.WriteAtomic(_path, text);
    }

    private readonly record struct Line(string Text, Dictionary<string, JsonElement> Record, long? Step);

    private (List<Line> Records, string? Text) Parse()
    {
        if (!File.Exists(_path)) return ([], null);
        var text = File.ReadAllText(_path, Encoding.UTF8);
        var lines = text.Split('\n');
        int last = lines.Length - 1;
        while (last >= 0 && IsBlank(lines[last])) last--;
        var records = new List<Line>();
        for (int i = 0; i <= last; i++)
        {
            var l = lines[i].TrimEnd('\r');
            if (IsBlank(l)) continue;
            var (rec, step, error) = ParseLine(l);
            if (error == null) { records.Add(new Line(l, rec!, step)); continue; }
            if (i == last) break;   // a torn last line: an interrupted append
            throw new InvalidDataException($"{_path}: line {i + 1} is not a metrics record ({error}); the file is damaged before its last line, which an interrupted run cannot cause: repair or remove the line");
        }
        return (records, text);
    }

    private static bool IsBlank(string l) => l.AsSpan().Trim(" \t\r\0").IsEmpty;

    private static (Dictionary<string, JsonElement>? Record, long? Step, string? Error) ParseLine(string l)
    {
        try
        {
            using var doc = JsonDocument.Parse(l);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return (null, null, $"a JSON {doc.RootElement.ValueKind}, not an object");
            long? step = null;
            if (doc.RootElement.TryGetProperty("step", out var s))
            {
                if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out var v)) return (null, null, $"'step' is {s.GetRawText()}, not an integer");
                step = v;
            }
            var rec = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject()) rec[p.Name] = p.Value.Clone();
            return (rec, step, null);
        }
        catch (JsonException e) { return (null, null, e.Message); }
        catch (InvalidOperationException e) { return (null, null, e.Message); }
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
