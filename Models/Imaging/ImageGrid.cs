namespace LightNet.Models.Imaging;

/// <summary>Tiles single-channel images into one 8-bit picture (row-major tiles, a black border between them).</summary>
public static class ImageGrid
{
    /// <summary>
    /// Tiles <c>images.Length / (h·w)</c> images of h×w values in [<paramref name="low"/>, <paramref name="high"/>]
    /// (clamped) into <paramref name="cols"/> columns with <paramref name="pad"/> pixels between tiles.
    /// </summary>
    public static (byte[] Pixels, int Width, int Height) Tile(ReadOnlySpan<float> images, int h, int w, int cols, int pad = 2, double low = -1, double high = 1)
    {
        int per = h * w;
        if (per <= 0 || cols <= 0 || images.Length == 0 || images.Length % per != 0)
            throw new ArgumentException($"image grid: {images.Length} values are not whole {h}×{w} images (cols {cols})");
        int n = images.Length / per, rows = (n + cols - 1) / cols;
        int width = cols * w + (cols + 1) * pad, height = rows * h + (rows + 1) * pad;
        var px = new byte[width * height];
        for (int k = 0; k < n; k++)
        {
            int oy = pad + (k / cols) * (h + pad), ox = pad + (k % cols) * (w + pad);
            for (int r = 0; r < h; r++)
                for (int c = 0; c < w; c++)
                {
                    double v = (images[k * per + r * w + c] - low) / (high - low);
                    px[(oy + r) * width + ox + c] = (byte)Math.Round(255 * Math.Clamp(v, 0, 1));
                }
        }
        return (px, width, height);
    }
}
