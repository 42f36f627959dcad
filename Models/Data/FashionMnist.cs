namespace LightNet.Models.Data;

/// <summary>
/// One split of Fashion-MNIST (60,000 train or 10,000 test images of 28×28 grey clothes in 10 classes),
/// held on the host: <see cref="Images"/> float32 <c>[N, 1, 28, 28]</c> in [0, 1], <see cref="Labels"/> int64 <c>[N]</c>.
/// </summary>
public sealed class FashionMnist : Training.IImageDataset
{
    /// <summary>Side of an image.</summary>
    public const int Size = 28;
    /// <summary>Images in the training split.</summary>
    public const int TrainImages = 60000;

    /// <summary>The ten class names, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The four file names of the data set, train then test, images then labels.</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

    private FashionMnist(float[] pixels, long[] labels, bool train)
    {
        Pixels = pixels;
        LabelArray = labels;
        Train = train;
    }

    private Tensor? _images, _labels;

    /// <summary>Whether this is the training split.</summary>
    public bool Train { get; }
    /// <summary>Number of images.</summary>
    public int Count => LabelArray.Length;
    /// <summary>All images, float32 <c>[N, 1, 28, 28]</c> in [0, 1] (pixel / 255); made on first use.</summary>
    public Tensor Images => _images ??= Tensor.FromArray(Pixels.ToArray(), [Count, 1, Size, Size]);
    /// <summary>All labels, int64 <c>[N]</c> in [0, 10).</summary>
    public Tensor Labels => _labels ??= Tensor.FromArray(LabelArray.ToArray(), [Count]);
    /// <summary>Host copy of <see cref="Images"/> (row-major).</summary>
    public ReadOnlyMemory<float> Pixels { get; }
    /// <summary>Host copy of <see cref="Labels"/>.</summary>
    public ReadOnlyMemory<long> LabelArray { get; }

    /// <summary>Loads the train or test split from a folder holding the four gzipped IDX files.</summary>
    public static FashionMnist Load(string dir, bool train)
    {
        var prefix = train ? "train" : "t10k";
        var imgPath = Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz");
        var lblPath = Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz");
        var bytes = Idx.ReadImages(imgPath, out int n, out int rows, out int cols);
        if (rows != Size || cols != Size) throw new InvalidDataException($"{imgPath}: images are {rows}×{cols}, expected {Size}×{Size}");
        var lbl = Idx.ReadLabels(lblPath);
        if (lbl.Length != n) throw new InvalidDataException($"{lblPath}: {lbl.Length} labels for {n} images in {imgPath}");
        var labels = new long[n];
        for (int i = 0; i < n; i++)
        {
            if (lbl[i] >= ClassNames.Count) throw new InvalidDataException($"{lblPath}: label {lbl[i]} at item {i} is not in [0, {ClassNames.Count})");
            labels[i] = lbl[i];
        }
        var pixels = new float[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) pixels[i] = bytes[i] / 255f;
        return new FashionMnist(pixels, labels, train);
    }

    /// <summary>Loads a split from <paramref name="cache"/> (default cache folder when null), fetching the data first when missing.</summary>
    public static FashionMnist LoadOrFetch(bool train, DataCache? cache = null, TextWriter? log = null)
    {
        cache ??= new DataCache();
        return Load(cache.EnsureFashionMnist(log), train);
    }

    /// <summary>Fetches Fashion-MNIST into the default cache when missing; returns its folder.</summary>
    public static string EnsureDownloaded(TextWriter? log = null) => new DataCache().EnsureFashionMnist(log);

    int Training.IImageDataset.Channels => 1;
    int Training.IImageDataset.Height => Size;
    int Training.IImageDataset.Width => Size;
    int Training.IImageDataset.Classes => ClassNames.Count;
    (Tensor Images, Tensor Labels) Training.IImageDataset.Batch(int[] indices) => Batch(indices);

    /// <summary>Images float32 <c>[B, 1, 28, 28]</c> and labels int64 <c>[B]</c> of the given items, on <paramref name="device"/>.</summary>
    public (Tensor Images, Tensor Labels) Batch(int[] indices, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        const int per = Size * Size;
        var img = new float[indices.Length * per];
        var lbl = new long[indices.Length];
        var src = Pixels.Span;
        var labels = LabelArray.Span;
        for (int b = 0; b < indices.Length; b++)
        {
            int i = indices[b];
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"fashion-mnist: index {i} is not in [0, {Count})");
            src.Slice(i * per, per).CopyTo(img.AsSpan(b * per, per));
            lbl[b] = labels[i];
        }
        return (Tensor.FromArray(img, [indices.Length, 1, Size, Size], device), Tensor.FromArray(lbl, [indices.Length], device));
    }
}
