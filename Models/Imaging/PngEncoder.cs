using System.Buffers.Binary;
using System.IO.Compression;

namespace LightNet.Models.Imaging;

/// <summary>A minimal PNG writer for 8-bit greyscale images (IHDR, one zlib IDAT with filter 0 rows, IEND; CRC-32 per chunk).</summary>
public static class PngEncoder
{
    private static readonly uint[] CrcTable = MakeCrcTable();

    /// <summary>Encodes <paramref name="width"/>×<paramref name="height"/> grey pixels (row-major) as a PNG file.</summary>
    public static byte[] EncodeGray(ReadOnlySpan<byte> pixels, int width, int height)
    {
        if (width <= 0 || height <= 0 || pixels.Length != (long)width * height)
            throw new ArgumentException($"png: {pixels.Length} pixels do not fill {width}×{height}");
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth; colour type 0 (grey), compression 0, filter 0, no interlace
        WriteChunk(ms, "IHDR", ihdr);
        using (var raw = new MemoryStream())
        {
            using (var z = new ZLibStream(raw, CompressionLevel.SmallestSize, leaveOpen: true))
                for (int r = 0; r < height; r++)
                {
                    z.WriteByte(0);
                    z.Write(pixels.Slice(r * width, width));
                }
            WriteChunk(ms, "IDAT", raw.ToArray());
        }
        WriteChunk(ms, "IEND", []);
        return ms.ToArray();
    }

    /// <summary>Writes a greyscale PNG file atomically (temporary file, then rename).</summary>
    public static void WriteGray(string path, ReadOnlySpan<byte> pixels, int width, int height)
    {
        var bytes = EncodeGray(pixels, width, height);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>CRC-32 (ISO-HDLC, as PNG uses) of <paramref name="data"/>.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    private static void WriteChunk(Stream s, string type, byte[] data)
    {
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(u32, data.Length);
        s.Write(u32);
        var typed = new byte[4 + data.Length];
        for (int i = 0; i < 4; i++) typed[i] = (byte)type[i];
        data.CopyTo(typed, 4);
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(u32, Crc32(typed));
        s.Write(u32);
    }

    private static uint[] MakeCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }
}
