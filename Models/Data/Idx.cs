using System.Buffers.Binary;
using System.IO.Compression;

namespace LightNet.Models.Data;

/// <summary>
/// Reader (and writer, for tests and tools) of IDX files (read gzipped or raw, written gzipped): magic <c>0x00000801</c> for unsigned-byte
/// vectors (labels), <c>0x00000803</c> for unsigned-byte rank-3 arrays (images), then big-endian int32 sizes,
/// then the bytes. Every malformed input gives an <see cref="InvalidDataException"/> that names the file.
/// </summary>
public static class Idx
{
    /// <summary>Magic number of a rank-1 unsigned-byte file (labels).</summary>
    public const int LabelsMagic = 0x00000801;
    /// <summary>Magic number of a rank-3 unsigned-byte file (images).</summary>
    public const int ImagesMagic = 0x00000803;
    private const int MaxElements = 1 << 30;

    /// <summary>Reads a gzipped labels file: one byte per item.</summary>
    public static byte[] ReadLabels(string path) => Read(path, LabelsMagic, out _);

    /// <summary>Reads a gzipped images file: <c>count × rows × cols</c> bytes, row-major.</summary>
    public static byte[] ReadImages(string path, out int count, out int rows, out int cols)
    {
        var data = Read(path, ImagesMagic, out var dims);
        (count, rows, cols) = (dims[0], dims[1], dims[2]);
        return data;
    }

    /// <summary>
    /// Reads an IDX file, gzipped (it starts with the gzip signature 1F 8B) or raw, whose magic must be
    /// <paramref name="magic"/>; returns the bytes and the sizes. A wrong data type (the magic's third byte: only
    /// 0x08, unsigned byte, is read) or rank, a size that is negative, zero (but the first) or whose product
    /// overflows or passes 2^30, a raw file whose length is not the header's sizes' product, a truncated or
    /// trailing-garbage file and a damaged gzip stream are each an <see cref="InvalidDataException"/> naming the
    /// file. Memory: a raw file's bytes are allocated only after its length is checked; a gzipped file's
    /// buffer grows with the bytes actually decompressed, so a small file claiming huge sizes allocates little.
    /// </summary>
    public static byte[] Read(string path, int magic, out int[] dims)
    {
        try
        {
            using var file = File.OpenRead(path);
            Span<byte> sig = stackalloc byte[2];
            bool gzip = file.Read(sig) == 2 && sig[0] == 0x1F && sig[1] == 0x8B;
            file.Position = 0;
            using Stream s = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
            var head = new byte[4];
            ReadExactly(s, head, path, "header");
            int m = BinaryPrimitives.ReadInt32BigEndian(head);
            if (m != magic)
            {
                if ((m >> 16) != 0) throw new InvalidDataException($"{path}: not an IDX file (magic 0x{m:X8}; an IDX file starts with two zero bytes)");
                if ((m >> 8 & 0xFF) != (magic >> 8 & 0xFF)) throw new InvalidDataException($"{path}: IDX data type 0x{m >> 8 & 0xFF:X2} is not supported (expected 0x{magic >> 8 & 0xFF:X2}, unsigned bytes)");
                throw new InvalidDataException($"{path}: IDX rank is {m & 0xFF}, expected {magic & 0xFF} (magic 0x{m:X8}, expected 0x{magic:X8})");
            }
            int rank = magic & 0xFF;
            dims = new int[rank];
            var dimBytes = new byte[4 * rank];
            ReadExactly(s, dimBytes, path, "sizes");
            long n = 1;
            for (int i = 0; i < rank; i++)
            {
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(dimBytes.AsSpan(4 * i));
                if (dims[i] < 0 || (i > 0 && dims[i] == 0)) throw new InvalidDataException($"{path}: IDX size {i} is {dims[i]}");
                n *= dims[i];
                if (n > MaxElements) throw new InvalidDataException($"{path}: IDX sizes [{string.Join(", ", dims[..(i + 1)])}] are implausibly large");
            }
            if (!gzip)
            {
                long have = file.Length - 4 - 4L * rank;
                if (have != n) throw new InvalidDataException($"{path}: IDX sizes [{string.Join(", ", dims)}] need {n} data bytes, the file has {have}");
            }
            var data = ReadData(s, (int)n, path);
            if (s.ReadByte() != -1) throw new InvalidDataException($"{path}: trailing bytes after the {n} data bytes");
            if (gzip) VerifyTrailer(path, file, head, dimBytes, data);
            return data;
        }
        // GZipStream reports a failed CRC-32 check (and damaged deflate data) as "unsupported compression method".
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal) && e.Message.Contains("compression method", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: corrupt gzip file (CRC mismatch or damaged compressed data; delete it to fetch it again)", e);
        }
        catch (Exception e) when (e is InvalidDataException && !e.Message.StartsWith(path, StringComparison.Ordinal) ||
                                  e is InvalidOperationException or EndOfStreamException ||
                                  e is IOException and not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new InvalidDataException($"{path}: corrupt gzip/IDX file ({e.Message})", e);
        }
    }

    /// <summary>
    /// Checks the gzip trailer (CRC-32 and length of the uncompressed bytes, the file's last 8 bytes) against what was read:
    /// a file cut inside its trailer, or whose checksum does not match, is a named error even where the decompressor lets
    /// it pass. One gzip member per file (as IDX files are written).
    /// </summary>
    private static void VerifyTrailer(string path, FileStream file, byte[] head, byte[] dims, byte[] data)
    {
        if (file.Length < 18) throw new InvalidDataException($"{path}: corrupt gzip file (truncated: {file.Length} bytes)");
        var trailer = new byte[8];
        file.Seek(-8, SeekOrigin.End);
        file.ReadExactly(trailer);
        uint want = BinaryPrimitives.ReadUInt32LittleEndian(trailer), size = BinaryPrimitives.ReadUInt32LittleEndian(trailer.AsSpan(4));
        long total = head.Length + dims.Length + data.Length;
        if (size != (uint)total)
            throw new InvalidDataException($"{path}: corrupt gzip file (truncated or damaged: the trailer records {size} uncompressed bytes, {total} were read)");
        uint got = Crc32.Update(Crc32.Update(Crc32.Update(0, head), dims), data);
        if (got != want) throw new InvalidDataException($"{path}: corrupt gzip file (CRC mismatch: 0x{got:X8} computed, 0x{want:X8} recorded; delete it to fetch it again)");
    }

    /// <summary>Reads exactly <paramref name="n"/> bytes into a buffer that grows (doubling from 64 KiB) with the bytes read.</summary>
    private static byte[] ReadData(Stream s, int n, string path)
    {
        var data = new byte[Math.Min(n, 1 << 16)];
        int got = 0;
        while (got < n)
        {
            if (got == data.Length) Array.Resize(ref data, (int)Math.Min(n, 2L * data.Length));
            int r = s.Read(data, got, data.Length - got);
            if (r == 0) throw new InvalidDataException($"{path}: truncated IDX data ({got} of {n} bytes)");
            got += r;
        }
        return data;
    }

    private static void ReadExactly(Stream s, byte[] buffer, string path, string what)
    {
        int got = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (got != buffer.Length) throw new InvalidDataException($"{path}: truncated IDX {what} ({got} of {buffer.Length} bytes)");
    }

    /// <summary>Writes a gzipped IDX file with the given magic, sizes and bytes.</summary>
    public static void Write(string path, int magic, int[] dims, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length != (magic & 0xFF)) throw new ArgumentException($"IDX magic 0x{magic:X8} needs rank {magic & 0xFF}, got {dims.Length} sizes");
        long n = 1;
        foreach (var d in dims) n *= d;
        if (n != data.Length) throw new ArgumentException($"IDX sizes [{string.Join(", ", dims)}] need {n} bytes, got {data.Length}");
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        Span<byte> w = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(w, magic);
        gz.Write(w);
        foreach (var d in dims)
        {
            BinaryPrimitives.WriteInt32BigEndian(w, d);
            gz.Write(w);
        }
        gz.Write(data);
    }
}

/// <summary>CRC-32 (IEEE 802.3, as gzip uses), table-driven.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Build();

    private static uint[] Build()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    /// <summary>The CRC of the bytes so far (<paramref name="crc"/>, 0 at the start) extended by <paramref name="bytes"/>.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> bytes)
    {
        uint c = ~crc;
        foreach (var b in bytes) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return ~c;
    }
}
