using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using LightNet.Models.Training;

namespace LightNet.Cli;

/// <summary>
/// Fashion-MNIST from the Debian package <c>dataset-fashion-mnist</c>, fetched without root (<c>apt-get
/// download</c>, SHA-256 check, <c>dpkg-deb -x</c>) into the data cache (<c>LIGHTNET_DATA_DIR</c>, else
/// <c>data-cache/</c> in the working directory); gzipped IDX files are validated as they are read.
/// </summary>
internal static class FashionMnistData
{
    private const string Package = "dataset-fashion-mnist";
    private const string DebSha256 = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0";
    private const string SubDir = "usr/share/datasets/fashion-mnist";

    public static string CacheDir => Environment.GetEnvironmentVariable("LIGHTNET_DATA_DIR") is { Length: > 0 } d ? d : Path.GetFullPath("data-cache");

    /// <summary>Train and test sets (images in [0, 1], [N, 1, 28, 28]), fetching the package when missing.</summary>
    public static (IImageDataset Train, IImageDataset Test) Load()
    {
        var dir = Path.Combine(CacheDir, "fashion-mnist", SubDir);
        if (!File.Exists(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"))) Fetch();
        return (Read(dir, "train"), Read(dir, "t10k"));
    }

    private static ArrayImageDataset Read(string dir, string prefix)
    {
        var images = Idx.Read(Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz"), 3);
        var labels = Idx.Read(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz"), 1);
        int n = labels.Dims[0];
        if (images.Dims[0] != n || images.Dims[1] != 28 || images.Dims[2] != 28)
            throw new InvalidDataException($"fashion-mnist: {prefix} images {Shape.Format(images.Dims)} do not match {n} labels of 28×28 images");
        var px = new float[images.Data.Length];
        for (int i = 0; i < px.Length; i++) px[i] = images.Data[i] / 255f;
        var lb = new long[n];
        for (int i = 0; i < n; i++)
        {
            lb[i] = labels.Data[i];
            if (lb[i] > 9) throw new InvalidDataException($"fashion-mnist: label {lb[i]} at {i} is not a class 0-9");
        }
        return new ArrayImageDataset(px, lb, 1, 28, 28, 10);
    }

    /// <summary>Downloads and unpacks the Debian package into the cache (no root needed).</summary>
    public static void Fetch()
    {
        var root = Path.Combine(CacheDir, "fashion-mnist");
        Directory.CreateDirectory(root);
        Console.WriteLine($"fetching {Package} into {root} …");
        Run("apt-get", $"download {Package}", root);
        var deb = Directory.GetFiles(root, $"{Package}_*.deb").OrderBy(f => f, StringComparer.Ordinal).LastOrDefault()
            ?? throw new IOException($"data: apt-get download produced no {Package}_*.deb in {root}");
        using (var s = File.OpenRead(deb))
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(s));
            if (hash != DebSha256) throw new InvalidDataException($"data: {deb} has SHA-256 {hash}, expected {DebSha256}");
        }
        Run("dpkg-deb", $"-x \"{deb}\" \"{root}\"", root);
    }

    private static void Run(string exe, string args, string cwd)
    {
        var psi = new ProcessStartInfo(exe, args) { WorkingDirectory = cwd, RedirectStandardError = true, RedirectStandardOutput = true };
        Process p;
        try { p = Process.Start(psi) ?? throw new IOException($"data: could not start {exe}"); }
        catch (System.ComponentModel.Win32Exception e) { throw new IOException($"data: {exe} is not available ({e.Message}); install it or place the files in {CacheDir}", e); }
        using (p)
        {
            var err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new IOException($"data: {exe} {args} failed with exit code {p.ExitCode}: {err.Trim()}");
        }
    }
}

/// <summary>Gzipped IDX files (big-endian header: magic 0x00000800 | type 0x08 | rank, then the sizes, then unsigned bytes).</summary>
internal static class Idx
{
    public sealed record Array(int[] Dims, byte[] Data);

    public static Array Read(string path, int expectedRank)
    {
        byte[] raw;
        try
        {
            using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            gz.CopyTo(ms);
            raw = ms.ToArray();
        }
        catch (InvalidDataException e) { throw new InvalidDataException($"idx: {path} is not a valid gzip stream ({e.Message})", e); }
        if (raw.Length < 4) throw new InvalidDataException($"idx: {path} is too short for a header ({raw.Length} bytes)");
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(raw);
        int rank = (int)(magic & 0xFF);
        if ((magic & 0xFFFFFF00) != 0x00000800 || rank != expectedRank)
            throw new InvalidDataException($"idx: {path} has magic 0x{magic:X8}; expected unsigned-byte data of rank {expectedRank} (0x{0x800 | expectedRank:X8})");
        if (raw.Length < 4 + 4 * rank) throw new InvalidDataException($"idx: {path} is truncated inside its header");
        var dims = new int[rank];
        long n = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(4 + 4 * i));
            if (d == 0 || d > int.MaxValue) throw new InvalidDataException($"idx: {path} dimension {i} is {d}");
            dims[i] = (int)d;
            n *= d;
        }
        long offset = 4 + 4 * rank;
        if (raw.Length - offset != n) throw new InvalidDataException($"idx: {path} holds {raw.Length - offset} data bytes, its header {Shape.Format(dims)} needs {n}");
        return new Array(dims, raw[(int)offset..]);
    }
}
