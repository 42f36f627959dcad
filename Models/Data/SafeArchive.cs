using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace LightNet.Models.Data;

/// <summary>Checksum verification and guarded extraction of gzipped tar archives (npm packages).</summary>
public static class SafeArchive
{
    /// <summary>Lower-case hex SHA-256 of a file.</summary>
    public static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    /// <summary>Throws <see cref="InvalidDataException"/> when the SHA-256 of <paramref name="path"/> is not <paramref name="expected"/>.</summary>
    public static void VerifySha256(string path, string expected)
    {
        var actual = Sha256(path);
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"checksum mismatch for {path}: SHA-256 is {actual}, expected {expected} (delete the file to fetch it again)");
    }

    /// <summary>
    /// Extracts the regular files of a .tgz whose entry name satisfies <paramref name="include"/> into
    /// <paramref name="destDir"/>, keeping their relative paths. Entries that would land outside
    /// <paramref name="destDir"/> (absolute names, <c>..</c>) raise <see cref="InvalidDataException"/>;
    /// links and other non-regular entries are skipped. Returns the number of files written.
    /// </summary>
    public static int ExtractTgz(string archive, string destDir, Func<string, bool> include)
    {
        var root = Path.GetFullPath(destDir);
        if (!root.EndsWith(Path.DirectorySeparatorChar)) root += Path.DirectorySeparatorChar;
        Directory.CreateDirectory(root);
        int n = 0;
        try
        {
            using var file = File.OpenRead(archive);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gz);
            while (tar.GetNextEntry() is { } entry)
            {
                var name = entry.Name.Replace('\\', '/');
                if (!include(name)) continue;
                var target = SafeTarget(root, name, archive);
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                var tmp = target + ".part";
                entry.ExtractToFile(tmp, overwrite: true);
                File.Move(tmp, target, overwrite: true);
                n++;
            }
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException)
        {
            throw new InvalidDataException($"{archive}: corrupt archive ({e.Message})", e);
        }
        return n;
    }

    /// <summary>Full path of entry <paramref name="name"/> under <paramref name="root"/>, refusing any escape.</summary>
    internal static string SafeTarget(string root, string name, string archive)
    {
        if (name.Length == 0 || Path.IsPathRooted(name) || name.StartsWith('/') || name.Split('/').Contains(".."))
            throw new InvalidDataException($"{archive}: entry '{name}' points outside the extraction folder");
        var full = Path.GetFullPath(Path.Combine(root, name));
        if (!full.StartsWith(root, StringComparison.Ordinal))
            throw new InvalidDataException($"{archive}: entry '{name}' points outside the extraction folder");
        return full;
    }
}
