namespace LightNet.Models.Training;

/// <summary>A labelled image data set served in batches: images float32 [B, C, H, W], labels int64 [B].</summary>
public interface IImageDataset
{
    /// <summary>Number of images N.</summary>
    int Count { get; }
    /// <summary>Channels C per image.</summary>
    int Channels { get; }
    /// <summary>Image height H in pixels.</summary>
    int Height { get; }
    /// <summary>Image width W in pixels.</summary>
    int Width { get; }
    /// <summary>Number of label classes.</summary>
    int Classes { get; }
    /// <summary>New CPU tensors for the given indices: images [B, C, H, W] and labels [B].</summary>
    (Tensor Images, Tensor Labels) Batch(int[] indices);
}

/// <summary>An in-memory <see cref="IImageDataset"/> over float pixels [N·C·H·W] and labels [N].</summary>
public sealed class ArrayImageDataset : IImageDataset
{
    private readonly float[] _pixels;
    private readonly long[] _labels;

    /// <summary>Wraps the arrays without copying; throws <see cref="ArgumentException"/> when the pixel count is not N·C·H·W.</summary>
    public ArrayImageDataset(float[] pixels, long[] labels, int channels, int height, int width, int classes)
    {
        if (pixels.Length != (long)labels.Length * channels * height * width)
            throw new ArgumentException($"image dataset: {pixels.Length} pixels do not match {labels.Length} images of {channels}×{height}×{width}");
        _pixels = pixels; _labels = labels; Channels = channels; Height = height; Width = width; Classes = classes;
    }

    /// <inheritdoc/>
    public int Count => _labels.Length;
    /// <inheritdoc/>
    public int Channels { get; }
    /// <inheritdoc/>
    public int Height { get; }
    /// <inheritdoc/>
    public int Width { get; }
    /// <inheritdoc/>
    public int Classes { get; }

    /// <inheritdoc/>
    public (Tensor Images, Tensor Labels) Batch(int[] indices)
    {
        int per = Channels * Height * Width;
        var px = new float[indices.Length * per];
        var lb = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            Array.Copy(_pixels, (long)indices[i] * per, px, (long)i * per, per);
            lb[i] = _labels[indices[i]];
        }
        return (Tensor.FromArray(px, [indices.Length, Channels, Height, Width]), Tensor.FromArray(lb));
    }
}
