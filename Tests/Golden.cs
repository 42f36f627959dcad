namespace LightNet.Tests;

/// <summary>
/// Golden reference files. The tests read the repository's own copies (<c>Tests/golden</c>, copied beside the
/// test binaries as <c>golden/</c>), so a bare clone runs them. The shared folder (<c>LIGHTNET_GOLDEN_DIR</c>, or
/// <c>../shared/golden</c> beside the repository) is optional: where it exists, every golden file and checkpoint
/// folder in it also runs, as held-out cases (the list comes from the folder).
/// </summary>
internal static class Golden
{
    private static readonly Lazy<string?> _shared = new(FindShared);

    /// <summary>The repository's golden folder beside the test binaries.</summary>
    public static string Dir
    {
        get
        {
            var d = Path.Combine(AppContext.BaseDirectory, "golden");
            return Directory.Exists(d) ? d : throw new DirectoryNotFoundException($"golden files not found at {d} (Tests/golden is copied there by the build)");
        }
    }

    /// <summary>A file or folder of the repository's golden folder; an error naming it when absent.</summary>
    public static string FilePath(string name)
    {
        var p = Path.Combine(Dir, name);
        return File.Exists(p) || Directory.Exists(p) ? p : throw new FileNotFoundException($"golden file {p} not found (Tests/golden/{name})", p);
    }

    /// <summary>
    /// The shared golden folder: <c>LIGHTNET_GOLDEN_DIR</c> (an error when it names a missing folder), else
    /// <c>../shared/golden</c> beside the repository root when it exists, else null.
    /// </summary>
    public static string? SharedDir => _shared.Value;

    private static string? FindShared()
    {
        var env = Environment.GetEnvironmentVariable("LIGHTNET_GOLDEN_DIR");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? Path.GetFullPath(env) : throw new DirectoryNotFoundException($"LIGHTNET_GOLDEN_DIR={env} does not exist");
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            if (!File.Exists(Path.Combine(d.FullName, "LightNet.Engine.sln"))) continue;
            var g = Path.GetFullPath(Path.Combine(d.FullName, "..", "shared", "golden"));
            return Directory.Exists(g) ? g : null;
        }
        return null;
    }

    /// <summary>The golden files of a folder: every <c>*.safetensors</c> directly in it, sorted.</summary>
    public static IEnumerable<string> Files(string dir) =>
        Directory.EnumerateFiles(dir, "*.safetensors", SearchOption.TopDirectoryOnly).Order(StringComparer.Ordinal);

    /// <summary>The checkpoint folders of a folder: every subfolder holding <c>config.json</c> and <c>model.safetensors</c>, sorted.</summary>
    public static IEnumerable<string> Checkpoints(string dir) =>
        Directory.EnumerateDirectories(dir).Where(d => File.Exists(Path.Combine(d, "config.json")) && File.Exists(Path.Combine(d, "model.safetensors")))
            .Order(StringComparer.Ordinal);

    /// <summary>The folders to run, labelled: the repository's, then the shared one where it exists.</summary>
    private static IEnumerable<(string Label, string Dir)> Folders()
    {
        yield return ("repo", Dir);
        if (SharedDir is { } s) yield return ("shared", s);
    }

    private static TestCaseData NoShared(params object?[] args) =>
        new TestCaseData(args).SetArgDisplayNames("shared (none)").Ignore("no shared golden folder (../shared/golden beside the repository, or LIGHTNET_GOLDEN_DIR): held-out files not run");

    /// <summary>Test cases (path, dtype) for every golden file of the repository and of the shared folder, in float32 and float64.</summary>
    public static IEnumerable<TestCaseData> FileCases()
    {
        foreach (var (label, dir) in Folders())
            foreach (var f in Files(dir))
                foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    yield return new TestCaseData(f, dt).SetArgDisplayNames($"{label}/{Path.GetFileName(f)}", dt.ToString());
        if (SharedDir == null) yield return NoShared("", DType.Float32);
    }

    /// <summary>Test cases (folder) for every checkpoint folder of the repository and of the shared folder.</summary>
    public static IEnumerable<TestCaseData> CheckpointCases()
    {
        foreach (var (label, dir) in Folders())
            foreach (var c in Checkpoints(dir))
                yield return new TestCaseData(c).SetArgDisplayNames($"{label}/{Path.GetFileName(c)}");
        if (SharedDir == null) yield return NoShared("");
    }

    /// <summary>
    /// The <c>lightnet_lm</c> golden file beside a checkpoint folder whose <c>param/</c> tensors are exactly the
    /// checkpoint's weights (same names, shapes and float32 values), or null when there is none.
    /// </summary>
    public static string? LmFileWithWeightsOf(string checkpointDir)
    {
        using var ckpt = SafetensorsFile.Open(Path.Combine(checkpointDir, "model.safetensors"));
        var names = ckpt.Names.Order(StringComparer.Ordinal).ToArray();
        foreach (var path in Files(Path.GetDirectoryName(Path.GetFullPath(checkpointDir))!))
        {
            using var g = SafetensorsFile.Open(path);
            if (!g.Metadata.TryGetValue("kind", out var kind) || kind != "lightnet_lm") continue;
            var pnames = g.Names.Where(n => n.StartsWith("param/", StringComparison.Ordinal)).Select(n => n["param/".Length..]).Order(StringComparer.Ordinal);
            if (!pnames.SequenceEqual(names)) continue;
            bool same = true;
            foreach (var n in names)
            {
                if (g.Info("param/" + n).Shape != ckpt.Info(n).Shape) { same = false; break; }
                using var a = g.Load("param/" + n, DType.Float32);
                using var b = ckpt.Load(n, DType.Float32);
                if (!a.ToArray<float>().AsSpan().SequenceEqual(b.ToArray<float>())) { same = false; break; }
            }
            if (same) return path;
        }
        return null;
    }
}
