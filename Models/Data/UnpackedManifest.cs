using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LightNet.Models.Data;

/// <summary>
/// <c>.lightnet-files.json</c> in an unpacked data-cache folder: the size, SHA-256 and modification time of every file
/// unpacked from the verified archive, written when the folder is filled. <see cref="Check"/> compares sizes always
/// (cheap) and hashes a file only when its modification time differs from the recorded one. A folder without the file
/// (filled by hand, or by an engine before this file existed) is not checked.
/// </summary>
internal static class UnpackedManifest
{
    public const string FileName = ".lightnet-files.json";

    internal sealed record Entry(
        [property: JsonPropertyName("bytes")] long Bytes,
        [property: JsonPropertyName("sha256")] string Sha256,
        [property: JsonPropertyName("mtime_utc_ticks")] long MtimeUtcTicks);

    private static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    /// <summary>Records every file under <paramref name="folder"/> (paths relative to it, '/'-separated).</summary>
    public static void Write(string folder)
    {
        var files = new SortedDictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(folder, path).Replace(Path.DirectorySeparatorChar, '/');
            if (rel == FileName) continue;
            var info = new FileInfo(path);
            files[rel] = new Entry(info.Length, Sha256(path), info.LastWriteTimeUtc.Ticks);
        }
        File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(files, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Null when <paramref name="folder"/> holds every recorded file as recorded (or has no record); else what is wrong,
    /// naming the file (missing, another size, another SHA-256, or an unreadable record).
    /// </summary>
    public static string? Check(string folder)
    {
        var record = Path.Combine(folder, FileName);
        if (!File.Exists(record)) return null;
        Dictionary<string, Entry>? files;
        try { files = JsonSerializer.Deserialize<Dictionary<string, Entry>>(File.ReadAllText(record)); }
        catch (JsonException e) { return $"{record} is malformed ({e.Message})"; }
        if (files == null) return $"{record} is empty";
        foreach (var (rel, e) in files)
        {
            if (e == null || e.Sha256 == null || rel.Split('/').Any(p => p is "" or "." or "..")) return $"{record} has a malformed entry '{rel}'";
            var path = Path.Combine(folder, rel.Replace('/', Path.DirectorySeparatorChar));
            var info = new FileInfo(path);
            if (!info.Exists) return $"{path} is missing";
            if (info.Length != e.Bytes) return $"{path} has {info.Length} bytes, {e.Bytes} when it was unpacked";
            if (info.LastWriteTimeUtc.Ticks != e.MtimeUtcTicks && !string.Equals(Sha256(path), e.Sha256, StringComparison.OrdinalIgnoreCase))
                return $"{path} does not match its SHA-256 recorded when it was unpacked";
        }
        return null;
    }
}
