using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LightNet.Models.Training;

/// <summary>One file of a checkpoint: its size in bytes and SHA-256 (lower-case hex).</summary>
public sealed record CheckpointFileEntry(
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("sha256")] string Sha256);

/// <summary>
/// <c>checkpoint/manifest.json</c>: binds a checkpoint's files together. It holds the step, the SHA-256 of the run's
/// <c>training_config.json</c> when the run has one (with a copy of its text), and the size and SHA-256 of every other
/// file of the checkpoint folder. It is written last into <c>checkpoint.tmp/</c>, before the swap, and checked on resume
/// (<see cref="Verify"/>): a changed byte, a file missing or added, a progress.json of another step or a changed training
/// configuration is an <see cref="InvalidDataException"/> naming the file. Checkpoints written before manifests existed
/// have none and load unverified; a checkpoint whose progress.json says it was written with one and has none is refused.
/// </summary>
public sealed record CheckpointManifest(
    [property: JsonPropertyName("format")] int Format,
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("training_config_sha256")] string? TrainingConfigSha256,
    [property: JsonPropertyName("training_config")] string? TrainingConfig,
    [property: JsonPropertyName("files")] IReadOnlyDictionary<string, CheckpointFileEntry> Files)
{
    /// <summary>The manifest's file name inside the checkpoint folder.</summary>
    public const string FileName = "manifest.json";

    /// <summary>SHA-256 of a file, lower-case hex.</summary>
    public static string Sha256Of(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    /// <summary>Writes the manifest of every file now in <paramref name="checkpointDir"/> (atomically, through the fault-injection seam).</summary>
    internal static void Write(string checkpointDir, string runDir, long step)
    {
        var files = new SortedDictionary<string, CheckpointFileEntry>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(checkpointDir))
        {
            var name = Path.GetFileName(path);
            if (name == FileName) continue;
            files[name] = new CheckpointFileEntry(new FileInfo(path).Length, Sha256Of(path));
        }
        var config = TrainingConfigFile.PathIn(runDir);
        string? configText = File.Exists(config) ? File.ReadAllText(config) : null;
        string? configHash = File.Exists(config) ? Sha256Of(config) : null;
        var manifest = new CheckpointManifest(1, step, configHash, configText, files);
        global::LightNet.IO.DurableFile.WriteAtomic(Path.Combine(checkpointDir, FileName),
            JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The manifest of a checkpoint folder, or null when it has none; a malformed one is an <see cref="InvalidDataException"/>.</summary>
    internal static CheckpointManifest? Read(string checkpointDir)
    {
        var path = Path.Combine(checkpointDir, FileName);
        if (!File.Exists(path)) return null;
        CheckpointManifest? m;
        try { m = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"checkpoint: {path} is malformed ({e.Message})", e); }
        if (m == null || m.Files == null || m.Format != 1 || m.Step < 0
            || m.Files.Values.Any(f => f == null || f.Bytes < 0 || f.Sha256 is not { Length: 64 }))
            throw new InvalidDataException($"checkpoint: {path} is malformed (format {m?.Format.ToString(CultureInfo.InvariantCulture) ?? "null"}, or a file entry without size or SHA-256)");
        return m;
    }

    /// <summary>Checks one file of the checkpoint against its entry (size first, then SHA-256).</summary>
    internal static void VerifyFile(string checkpointDir, CheckpointManifest m, string name)
    {
        var path = Path.Combine(checkpointDir, name);
        var manifestPath = Path.Combine(checkpointDir, FileName);
        if (!m.Files.TryGetValue(name, out var entry)) throw new InvalidDataException($"checkpoint: {path} is not listed in {manifestPath}");
        if (!File.Exists(path)) throw new InvalidDataException($"checkpoint: {path} is missing (listed in {manifestPath})");
        long size = new FileInfo(path).Length;
        if (size != entry.Bytes) throw new InvalidDataException($"checkpoint: {path} has {size} bytes, {manifestPath} recorded {entry.Bytes} (damaged or replaced)");
        var hash = Sha256Of(path);
        if (!string.Equals(hash, entry.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"checkpoint: {path} does not match its SHA-256 in {manifestPath} (damaged or replaced)");
    }

    /// <summary>
    /// Checks the whole checkpoint folder against its manifest: the same set of files, each of the recorded size and SHA-256,
    /// and the run's <c>training_config.json</c> unchanged since the checkpoint was written.
    /// </summary>
    internal static void Verify(string checkpointDir, string runDir, CheckpointManifest m)
    {
        var manifestPath = Path.Combine(checkpointDir, FileName);
        foreach (var path in Directory.EnumerateFiles(checkpointDir).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            if (name != FileName && !m.Files.ContainsKey(name))
                throw new InvalidDataException($"checkpoint: {path} is not listed in {manifestPath} (a file added after the checkpoint was written)");
        }
        foreach (var name in m.Files.Keys.Order(StringComparer.Ordinal))
        {
            if (name != Path.GetFileName(name) || name is "." or "..") throw new InvalidDataException($"checkpoint: {manifestPath} lists '{name}', not a file name");
            VerifyFile(checkpointDir, m, name);
        }
        if (m.TrainingConfigSha256 is string want)
        {
            var config = TrainingConfigFile.PathIn(runDir);
            if (!File.Exists(config)) throw new InvalidDataException($"checkpoint: {config} is missing; the checkpoint {manifestPath} was written with it");
            if (!string.Equals(Sha256Of(config), want, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"checkpoint: {config} was changed after the checkpoint was written (its SHA-256 differs from {manifestPath}, which holds the recorded copy)");
        }
    }
}
