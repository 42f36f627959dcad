namespace LightNet.Models.Training;

/// <summary>A labelled image data set served in batches: images float32 [B, C, H, W], labels int64 [B].</summary>
public interface IImageDataset
{
    int Count { get; }
    int Channels { get; }
    int Height { get; }
    int Width { get; }
    int Classes { get; }
    (Tensor Images, Tensor Labels) Batch(int[] indices);
}

/// <summary>An in-memory <see cref="IImageDataset"/> over float pixels [N·C·H·W] and labels [N].</summary>
public sealed class ArrayImageDataset : IImageDataset
{
    private readonly float[] _pixels;
    private readonly long[] _labels;

    public ArrayImageDataset(float[] pixels, long[] labels, int channels, int height, int width, int classes)
    {
        if (pixels.Length != (long)labels.Length * channels * height * width)
            throw new ArgumentException($"image dataset: {pixels.Length} pixels do not match {labels.Length} images of {channels}×{height}×{width}");
        _pixels = pixels; _labels = labels; Channels = channels; Height = height; Width = width; Classes = classes;
    }

    public int Count => _labels.Length;
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int Classes { get; }

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
