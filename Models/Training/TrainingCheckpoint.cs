using System.Text.Json;
using LightNet.Models.Nn;
using LightNet.Models.Optim;

namespace LightNet.Models.Training;

/// <summary>
/// Where a run is in its schedule and data stream: enough to resume bit for bit (batches are a function of seed and step);
/// <paramref name="MetricsRecords"/>: the records <c>metrics.jsonl</c> held when the checkpoint was written (a resumed run
/// truncates the log to them; null in checkpoints written before it was recorded, which truncate by step).
/// <paramref name="Manifest"/>: true in checkpoints that carry a <c>manifest.json</c> (<see cref="CheckpointManifest"/>), so that
/// such a checkpoint whose manifest was deleted is refused; null in older ones. <paramref name="SkippedSteps"/> and
/// <paramref name="ConsecutiveSkips"/>: steps skipped for non-finite gradients or loss so far, and how many of the last ones
/// in a row (null: none, or a checkpoint written before they were counted).
/// </summary>
public sealed record TrainingProgress(long Step, long TotalSteps, ulong DataSeed, long? MetricsRecords = null, bool? Manifest = null,
    long? SkippedSteps = null, long? ConsecutiveSkips = null);

/// <summary>
/// A resumable checkpoint in <c>&lt;run&gt;/checkpoint/</c>: model weights (model.safetensors, float32 as
/// trained), optimizer state (optimizer.safetensors), the weight EMA when there is one (ema.safetensors) and
/// <c>progress.json</c>. Written into a temporary
/// folder, then swapped in by rename, so an interruption never leaves a half-written checkpoint.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>The checkpoint folder of a run directory (<c>&lt;run&gt;/checkpoint</c>).</summary>
    public static string PathIn(string runDir) => Path.Combine(runDir, "checkpoint");

    /// <summary>Writes the checkpoint, replacing the previous one atomically.</summary>
    internal static void Save(string runDir, Module model, Optimizer opt, ExponentialMovingAverage? ema, TrainingProgress progress)
    {
        var final = PathIn(runDir);
        var tmp = final + ".tmp";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        SafetensorsFile.Save(Path.Combine(tmp, "model.safetensors"), model.StateDict(), new Dictionary<string, string> { ["format"] = "pt" });
        SafetensorsFile.Save(Path.Combine(tmp, "optimizer.safetensors"), opt.State(), new Dictionary<string, string> { ["step"] = opt.StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        if (ema != null)
            Checkpoint.SaveWeights(Path.Combine(tmp, "ema.safetensors"), model.NamedParameters().Select(p => p.Name), ema.Shadow,
                new Dictionary<string, string> { [EmaUpdatesKey] = ema.Updates.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        global::LightNet.IO.DurableFile.WriteAtomic(Path.Combine(tmp, "progress.json"), JsonSerializer.Serialize(progress with { Manifest = true }));
        // Written last: it binds the files above (their sizes and SHA-256), the step and the run's training configuration.
        CheckpointManifest.Write(tmp, runDir, progress.Step);
        var old = final + ".old";
        if (Directory.Exists(old)) Directory.Delete(old, true);
        if (Directory.Exists(final)) Directory.Move(final, old);
        Directory.Move(tmp, final);
        if (Directory.Exists(old)) Directory.Delete(old, true);
    }

    /// <summary>True when a complete checkpoint exists (or only its previous copy survived an interrupted swap).</summary>
    public static bool Exists(string runDir) => File.Exists(Path.Combine(PathIn(runDir), "progress.json")) || File.Exists(Path.Combine(PathIn(runDir) + ".old", "progress.json"));

    /// <summary>The checkpoint folder to read: the current one, or its previous copy after an interrupted swap.</summary>
    private static string ReadableDir(string runDir)
    {
        var dir = PathIn(runDir);
        return !File.Exists(Path.Combine(dir, "progress.json")) && Directory.Exists(dir + ".old") ? dir + ".old" : dir;
    }

    /// <summary>
    /// Whether the run in <paramref name="runDir"/> reached its planned length: its checkpoint is at the last step and the
    /// final files, written last (after the final evaluation's record), exist: <c>model.safetensors</c>, and
    /// <c>model_ema.safetensors</c> when the run keeps a weight EMA.
    /// </summary>
    public static bool IsFinished(string runDir, bool ema) =>
        Exists(runDir) && ReadProgress(runDir) is var p && p.Step >= p.TotalSteps && File.Exists(Path.Combine(runDir, "model.safetensors"))
        && (!ema || File.Exists(Path.Combine(runDir, "model_ema.safetensors")));

    /// <summary>The progress recorded in the run's checkpoint (without loading any tensor).</summary>
    public static TrainingProgress ReadProgress(string runDir)
    {
        var dir = ReadableDir(runDir);
        var path = Path.Combine(dir, "progress.json");
        // Cheap part of the verification (progress.json alone against the manifest), so that no caller acts on a damaged step.
        var manifest = CheckpointManifest.Read(dir);
        if (manifest != null) CheckpointManifest.VerifyFile(dir, manifest, "progress.json");
        TrainingProgress p;
        try
        {
            using var file = File.OpenRead(path);
            if (file.Length > MaxProgressBytes) throw new InvalidDataException($"checkpoint: {path} is {file.Length} bytes, not a progress record (at most {MaxProgressBytes})");
            p = JsonSerializer.Deserialize<TrainingProgress>(file, ProgressJson) ?? throw new InvalidDataException($"checkpoint: {path} is empty");
        }
        catch (JsonException e) { throw new InvalidDataException($"checkpoint: {path} is malformed ({e.Message})", e); }
        if (p.TotalSteps < 0) throw new InvalidDataException($"checkpoint: {path}: 'TotalSteps' is {p.TotalSteps}, must be ≥ 0");
        if (p.Step < 0 || p.Step > p.TotalSteps) throw new InvalidDataException($"checkpoint: {path}: 'Step' is {p.Step}, must be in [0, TotalSteps = {p.TotalSteps}]");
        if (p.MetricsRecords < 0) throw new InvalidDataException($"checkpoint: {path}: 'MetricsRecords' is {p.MetricsRecords}, must be ≥ 0");
        if (manifest == null && p.Manifest == true)
            throw new InvalidDataException($"checkpoint: {Path.Combine(dir, CheckpointManifest.FileName)} is missing; {path} says this checkpoint was written with one (its files cannot be verified)");
        if (manifest != null && manifest.Step != p.Step)
            throw new InvalidDataException($"checkpoint: {path} says step {p.Step}, {Path.Combine(dir, CheckpointManifest.FileName)} says step {manifest.Step}");
        return p;
    }

    /// <summary>Largest progress.json read (a record is about 100 bytes).</summary>
    private const int MaxProgressBytes = 1 << 16;

    /// <summary>progress.json: Step, TotalSteps and DataSeed must be present (a missing one is not read as 0).</summary>
    private static readonly JsonSerializerOptions ProgressJson = new() { RespectRequiredConstructorParameters = true, RespectNullableAnnotations = true };

    /// <summary>
    /// Restores the model, optimizer and EMA state from the run's checkpoint; returns its progress. A checkpoint with a
    /// <c>manifest.json</c> is verified first (<see cref="CheckpointManifest.Verify"/>: every file's size and SHA-256, no file
    /// missing or extra, the step, the run's <c>training_config.json</c>); any mismatch is an <see cref="InvalidDataException"/>
    /// naming the file. Checkpoints written before manifests existed (no manifest, and a progress.json without the
    /// <c>Manifest</c> field) load unverified, as before.
    /// </summary>
    internal static TrainingProgress Load(string runDir, Module model, Optimizer opt, ExponentialMovingAverage? ema)
    {
        var dir = ReadableDir(runDir);
        var progress = ReadProgress(runDir);
        if (CheckpointManifest.Read(dir) is { } manifest) CheckpointManifest.Verify(dir, runDir, manifest);
        Checkpoint.LoadWeights(dir, model);
        using var f = SafetensorsFile.Open(Path.Combine(dir, "optimizer.safetensors"));
        var state = f.LoadAll();
        if (!f.Metadata.TryGetValue("step", out var s)) throw new InvalidDataException($"checkpoint: {dir}/optimizer.safetensors has no 'step' metadata");
        if (!long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long step))
            throw new InvalidDataException($"checkpoint: {dir}/optimizer.safetensors: metadata 'step' is '{s}', not a count");
        opt.LoadState(state, step);
        foreach (var t in state.Values) t.Dispose();
        if (ema != null) LoadEma(dir, model, ema, progress.Step);
        return progress;
    }

    /// <summary>Metadata key of ema.safetensors holding the EMA's update count (its warm-up position).</summary>
    internal const string EmaUpdatesKey = "ema_updates";

    /// <summary>
    /// Restores the EMA's averages and update count. Checkpoints written before the count was saved have no
    /// <c>ema_updates</c> metadata; their EMA was updated once per optimizer step from step 0, so the count is
    /// the checkpoint's step (such a run continues with the warmed-up decay of that step).
    /// </summary>
    private static void LoadEma(string dir, Module model, ExponentialMovingAverage ema, long step)
    {
        var path = Path.Combine(dir, "ema.safetensors");
        if (!File.Exists(path)) throw new InvalidDataException($"checkpoint: {path} is missing but the run keeps a weight EMA (--ema)");
        using var f = SafetensorsFile.Open(path);
        var names = model.NamedParameters().Select(p => p.Name).ToList();
        for (int i = 0; i < names.Count; i++)
        {
            using var t = f.Load(names[i], ema.Shadow[i].DType, ema.Shadow[i].Device);
            if (t.Shape != ema.Shadow[i].Shape) throw new InvalidDataException($"checkpoint: {path}: '{names[i]}' has shape {t.Shape}, the model expects {ema.Shadow[i].Shape}");
            ema.Shadow[i].CopyFrom(t);
        }
        long updates = step;
        if (f.Metadata.TryGetValue(EmaUpdatesKey, out var u)
            && !long.TryParse(u, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out updates))
            throw new InvalidDataException($"checkpoint: {path}: metadata '{EmaUpdatesKey}' is '{u}', not a count");
        ema.RestoreUpdates(updates);
    }
}
