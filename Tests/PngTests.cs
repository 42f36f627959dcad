using System.Buffers.Binary;
using System.IO.Compression;
using LightNet.Models.Imaging;

namespace LightNet.Tests;

public class PngTests
{
    /// <summary>Reads a greyscale 8-bit PNG of filter-0 rows, checking the signature, chunk CRCs and IHDR.</summary>
    private static (byte[] Pixels, int Width, int Height) Decode(byte[] png)
    {
        Assert.That(png[..8], Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }));
        int pos = 8, w = 0, h = 0;
        var idat = new MemoryStream();
        var types = new List<string>();
        while (pos < png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            var typed = png.AsSpan(pos + 4, 4 + len);
            string type = System.Text.Encoding.ASCII.GetString(typed[..4]);
            Assert.That(BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + len)), Is.EqualTo(PngEncoder.Crc32(typed)), $"CRC of {type}");
            types.Add(type);
            var data = typed[4..];
            if (type == "IHDR")
            {
                w = BinaryPrimitives.ReadInt32BigEndian(data);
                h = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.That(data[8..].ToArray(), Is.EqualTo(new byte[] { 8, 0, 0, 0, 0 }), "8-bit grey, no interlace");
            }
            if (type == "IDAT") idat.Write(data);
            pos += 12 + len;
        }
        Assert.That(types, Is.EqualTo(new[] { "IHDR", "IDAT", "IEND" }));
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        var bytes = raw.ToArray();
        Assert.That(bytes.Length, Is.EqualTo(h * (w + 1)));
        var px = new byte[w * h];
        for (int r = 0; r < h; r++)
        {
            Assert.That(bytes[r * (w + 1)], Is.EqualTo(0), "filter type");
            Array.Copy(bytes, r * (w + 1) + 1, px, r * w, w);
        }
        return (px, w, h);
    }

    [Test]
    public void Crc32MatchesTheCheckValue() =>
        Assert.That(PngEncoder.Crc32("123456789"u8), Is.EqualTo(0xCBF43926u));

    [Test]
    public void EncodedImageDecodesBack()
    {
        var px = Enumerable.Range(0, 7 * 3).Select(i => (byte)(i * 12)).ToArray();
        var (got, w, h) = Decode(PngEncoder.EncodeGray(px, 7, 3));
        Assert.That((w, h), Is.EqualTo((7, 3)));
        Assert.That(got, Is.EqualTo(px));
        Assert.Throws<ArgumentException>(() => PngEncoder.EncodeGray(px, 5, 3));
    }

    [Test]
    public void GridTilesImagesWithBorders()
    {
        // Three 2×2 images in two columns: values −1 (black), 0 (mid grey), 1 (white).
        float[] images = [-1, -1, -1, -1, 0, 0, 0, 0, 1, 1, 1, 2];
        var (px, w, h) = ImageGrid.Tile(images, 2, 2, cols: 2, pad: 1);
        Assert.That((w, h), Is.EqualTo((7, 7)));
        Assert.That(px[1 * w + 1], Is.EqualTo(0));
        Assert.That(px[1 * w + 4], Is.EqualTo(128));
        Assert.That(px[5 * w + 2], Is.EqualTo(255), "clamped");
        Assert.That(px[0], Is.EqualTo(0), "border");
        using var dir = new TempDir();
        PngEncoder.WriteGray(dir.File("g.png"), px, w, h);
        Assert.That(Decode(File.ReadAllBytes(dir.File("g.png"))).Pixels, Is.EqualTo(px));
        Assert.Throws<ArgumentException>(() => ImageGrid.Tile(images.AsSpan(0, 5), 2, 2, 2));
    }
}
