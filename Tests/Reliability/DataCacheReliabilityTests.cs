using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using LightNet.Models.Data;

namespace LightNet.Tests.Reliability;

/// <summary>The data cache records and verifies the files it unpacks; a damaged gzip IDX file is a named error.</summary>
[Category("Reliability")]
public class DataCacheReliabilityTests
{
    private TempDir _dir = null!;
    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    private string MakeTgz(string name, params (string Name, string Text)[] entries)
    {
        var path = _dir.File(name);
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Pax);
        foreach (var (n, text) in entries)
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, n) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });
        return path;
    }

    /// <summary>An Ensure… of a fake data set: its archive (counted when asked for) unpacked into corpus/.</summary>
    private (string Folder, Func<StringWriter, string> Ensure, Func<int> Unpacks) FakeDataSet()
    {
        var tgz = MakeTgz("corpus.tgz", ("package/a.txt", "alpha alpha"), ("package/sub/b.txt", "beta"));
        var target = Path.Combine(_dir.Path, "corpus");
        int unpacks = 0;
        string Ensure(StringWriter log) => DataCache.EnsureUnpacked(target, () => File.Exists(Path.Combine(target, "package", "a.txt")),
            () => { unpacks++; return tgz; }, (file, tmp) => SafeArchive.ExtractTgz(file, tmp, _ => true), log);
        return (target, Ensure, () => unpacks);
    }

    [Test]
    public void UnpackedFilesAreRecordedAndReusedWhenIntact()
    {
        var (target, ensure, unpacks) = FakeDataSet();
        ensure(new StringWriter());
        Assert.That(File.Exists(Path.Combine(target, ".lightnet-files.json")), Is.True);
        var log = new StringWriter();
        ensure(log);
        Assert.That(unpacks(), Is.EqualTo(1), log.ToString());
    }

    [Test]
    public void CorruptedUnpackedFileIsUnpackedAgain()
    {
        var (target, ensure, unpacks) = FakeDataSet();
        ensure(new StringWriter());
        var a = Path.Combine(target, "package", "a.txt");
        var stamp = File.GetLastWriteTimeUtc(a);
        File.WriteAllText(a, "alpha alphA");   // same size, other content
        File.SetLastWriteTimeUtc(a, stamp.AddSeconds(-5));
        var log = new StringWriter();
        ensure(log);
        Assert.That(unpacks(), Is.EqualTo(2));
        Assert.That(log.ToString(), Does.Contain("a.txt does not match its SHA-256").And.Contain("unpacking"));
        Assert.That(File.ReadAllText(a), Is.EqualTo("alpha alpha"));
    }

    [Test]
    public void TruncatedOrMissingUnpackedFileIsUnpackedAgain()
    {
        var (target, ensure, unpacks) = FakeDataSet();
        ensure(new StringWriter());
        var b = Path.Combine(target, "package", "sub", "b.txt");
        File.WriteAllText(b, "be");
        var log = new StringWriter();
        ensure(log);
        Assert.That(log.ToString(), Does.Contain("b.txt has 2 bytes, 4 when it was unpacked"));
        Assert.That(File.ReadAllText(b), Is.EqualTo("beta"));
        File.Delete(b);
        ensure(log);
        Assert.That(log.ToString(), Does.Contain("b.txt is missing"));
        Assert.That(unpacks(), Is.EqualTo(3));
        Assert.That(File.ReadAllText(b), Is.EqualTo("beta"));
    }

    [Test]
    public void FolderWithoutRecordIsTakenAsItIs()
    {
        var (target, ensure, unpacks) = FakeDataSet();
        ensure(new StringWriter());
        File.Delete(Path.Combine(target, ".lightnet-files.json"));
        File.WriteAllText(Path.Combine(target, "package", "a.txt"), "put here by hand");
        ensure(new StringWriter());
        Assert.That(unpacks(), Is.EqualTo(1));
    }

    private string IdxFile()
    {
        var path = _dir.File("l.gz");
        Idx.Write(path, Idx.LabelsMagic, [300], Enumerable.Range(0, 300).Select(i => (byte)(i % 10)).ToArray());
        return path;
    }

    [Test]
    public void GzipChecksumErrorIsNamedCorrupt()
    {
        var path = IdxFile();
        var bytes = File.ReadAllBytes(path);
        bytes[^8] ^= 0x01;   // the stored CRC-32
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path));
        Assert.That(e!.Message, Does.StartWith(path).And.Contain("corrupt gzip file").And.Contain("CRC mismatch"));
        Assert.That(e.Message, Does.Not.Contain("unsupported compression method"));
    }

    [TestCase(1)]
    [TestCase(4)]
    [TestCase(8)]
    [TestCase(12)]
    public void TruncatedGzipIsANamedError(int cut)
    {
        var path = IdxFile();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^cut]);
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path));
        Assert.That(e!.Message, Does.StartWith(path));
        Assert.That(e.Message, Does.Contain("corrupt").Or.Contain("truncated"));
    }
}
