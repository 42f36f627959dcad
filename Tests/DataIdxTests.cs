using System.Buffers.Binary;
using System.IO.Compression;
using LightNet.Models.Data;

namespace LightNet.Tests;

/// <summary>Gzipped IDX files and the Fashion-MNIST reader on generated files: round trips and every kind of corruption.</summary>
public class DataIdxTests
{
    private TempDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    private static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    private static byte[] RawIdx(int magic, int[] dims, int dataBytes)
    {
        var raw = new byte[4 + 4 * dims.Length + dataBytes];
        BinaryPrimitives.WriteInt32BigEndian(raw, magic);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(4 + 4 * i), dims[i]);
        for (int i = 0; i < dataBytes; i++) raw[4 + 4 * dims.Length + i] = (byte)(i * 7);
        return raw;
    }

    /// <summary>Writes a small Fashion-MNIST-shaped split (n images) into the temp folder.</summary>
    private void WriteSplit(string prefix, int n)
    {
        var img = new byte[n * 28 * 28];
        for (int i = 0; i < img.Length; i++) img[i] = (byte)(i % 256);
        var lbl = new byte[n];
        for (int i = 0; i < n; i++) lbl[i] = (byte)(i % 10);
        Idx.Write(_dir.File($"{prefix}-images-idx3-ubyte.gz"), Idx.ImagesMagic, [n, 28, 28], img);
        Idx.Write(_dir.File($"{prefix}-labels-idx1-ubyte.gz"), Idx.LabelsMagic, [n], lbl);
    }

    [Test]
    public void ImagesAndLabelsRoundTrip()
    {
        var img = Enumerable.Range(0, 3 * 4 * 5).Select(i => (byte)(i * 3)).ToArray();
        Idx.Write(_dir.File("i.gz"), Idx.ImagesMagic, [3, 4, 5], img);
        Idx.Write(_dir.File("l.gz"), Idx.LabelsMagic, [3], [7, 0, 255]);
        var back = Idx.ReadImages(_dir.File("i.gz"), out int n, out int r, out int c);
        Assert.That((n, r, c), Is.EqualTo((3, 4, 5)));
        Assert.That(back, Is.EqualTo(img));
        Assert.That(Idx.ReadLabels(_dir.File("l.gz")), Is.EqualTo(new byte[] { 7, 0, 255 }));
    }

    [Test]
    public void EmptyLabelFileIsValid()
    {
        Idx.Write(_dir.File("l.gz"), Idx.LabelsMagic, [0], []);
        Assert.That(Idx.ReadLabels(_dir.File("l.gz")), Is.Empty);
    }

    private static IEnumerable<TestCaseData> Corrupt()
    {
        TestCaseData C(string name, byte[] bytes, bool images, string expect) => new TestCaseData(bytes, images, expect).SetName(name);
        yield return C("WrongMagic", Gzip(RawIdx(Idx.ImagesMagic, [2, 2, 2], 8)), false, "magic");
        yield return C("LabelsAsImages", Gzip(RawIdx(Idx.LabelsMagic, [8], 8)), true, "magic");
        yield return C("TruncatedHeader", Gzip([0, 0, 8]), false, "truncated IDX header");
        yield return C("TruncatedSizes", Gzip(RawIdx(Idx.ImagesMagic, [2, 2, 2], 8)[..10]), true, "truncated IDX sizes");
        yield return C("TruncatedData", Gzip(RawIdx(Idx.ImagesMagic, [2, 2, 2], 7)), true, "truncated IDX data");
        yield return C("TrailingBytes", Gzip(RawIdx(Idx.LabelsMagic, [3], 4)), false, "trailing bytes");
        yield return C("NegativeSize", Gzip(RawIdx(Idx.LabelsMagic, [-1], 0)), false, "size 0 is -1");
        yield return C("ZeroRows", Gzip(RawIdx(Idx.ImagesMagic, [2, 0, 2], 0)), true, "size 1 is 0");
        yield return C("HugeSizes", Gzip(RawIdx(Idx.ImagesMagic, [int.MaxValue, int.MaxValue, 2], 0)), true, "implausibly large");
        yield return C("NotIdx", "not an IDX file"u8.ToArray(), false, "not an IDX file");
        yield return C("RawSizesPastTheFile", RawIdx(Idx.ImagesMagic, [2, 2, 2], 7), true, "need 8 data bytes, the file has 7");
        yield return C("RawFloatData", RawIdx(0x00000D01, [2], 8), false, "data type 0x0D is not supported");
        yield return C("EmptyFile", [], false, "");
        var cut = Gzip(RawIdx(Idx.LabelsMagic, [1000], 1000));
        yield return C("TruncatedGzip", cut[..(cut.Length / 2)], false, "");
        var flipped = Gzip(RawIdx(Idx.LabelsMagic, [1000], 1000));
        for (int i = 12; i < flipped.Length - 8; i += 3) flipped[i] ^= 0x5A;
        yield return C("GarbledGzip", flipped, false, "");
    }

    [TestCaseSource(nameof(Corrupt))]
    public void CorruptFileGivesInvalidDataNamingTheFile(byte[] bytes, bool images, string expect)
    {
        var path = _dir.File("bad-idx.gz");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            if (images) Idx.ReadImages(path, out _, out _, out _);
            else Idx.ReadLabels(path);
        });
        Assert.That(e!.Message, Does.StartWith(path));
        Assert.That(e.Message, Does.Contain(expect));
    }

    [Test]
    public void FashionMnistLoadsAndBatches()
    {
        WriteSplit("train", 12);
        WriteSplit("t10k", 5);
        var train = FashionMnist.Load(_dir.Path, train: true);
        var test = FashionMnist.Load(_dir.Path, train: false);
        Assert.That((train.Count, test.Count, train.Train, test.Train), Is.EqualTo((12, 5, true, false)));
        Assert.That(train.Images.Shape.ToArray(), Is.EqualTo(new[] { 12, 1, 28, 28 }));
        Assert.That(train.Images.DType, Is.EqualTo(DType.Float32));
        Assert.That(train.Labels.DType, Is.EqualTo(DType.Int64));
        var px = train.Images.ToArray<float>();
        Assert.That(px.Min(), Is.EqualTo(0f));
        Assert.That(px.Max(), Is.EqualTo(1f));
        Assert.That(px[255], Is.EqualTo(1f));
        Assert.That(FashionMnist.ClassNames, Has.Count.EqualTo(10));

        var (img, lbl) = train.Batch([3, 11]);
        Assert.That(img.Shape.ToArray(), Is.EqualTo(new[] { 2, 1, 28, 28 }));
        Assert.That(lbl.ToArray<long>(), Is.EqualTo(new long[] { 3, 1 }));
        Assert.That(img.ToArray<float>().AsSpan(784, 784).ToArray(), Is.EqualTo(px.AsSpan(11 * 784, 784).ToArray()));
        Assert.Throws<ArgumentOutOfRangeException>(() => train.Batch([12]));
    }

    [Test]
    public void FashionMnistRejectsMismatchedFiles()
    {
        WriteSplit("train", 4);
        Idx.Write(_dir.File("train-labels-idx1-ubyte.gz"), Idx.LabelsMagic, [3], [0, 1, 2]);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(_dir.Path, train: true));
        Assert.That(e!.Message, Does.Contain("3 labels for 4 images"));

        Idx.Write(_dir.File("train-labels-idx1-ubyte.gz"), Idx.LabelsMagic, [4], [0, 1, 10, 2]);
        e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(_dir.Path, train: true));
        Assert.That(e!.Message, Does.Contain("label 10"));

        Idx.Write(_dir.File("train-images-idx3-ubyte.gz"), Idx.ImagesMagic, [4, 27, 28], new byte[4 * 27 * 28]);
        e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(_dir.Path, train: true));
        Assert.That(e!.Message, Does.Contain("27×28"));
    }
}
