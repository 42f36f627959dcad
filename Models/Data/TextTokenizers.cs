namespace LightNet.Models.Data;

/// <summary>Creates tokenizers: the built-in <c>byte</c> and <c>gpt2</c>, or a Hugging Face <c>tokenizer.json</c>; and keeps a run's tokenizer in its directory.</summary>
public static class TextTokenizers
{
    /// <summary>The built-in names: <c>byte</c> (default) and <c>gpt2</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["byte", "gpt2"];

    /// <summary>The accepted forms of a tokenizer argument, for messages.</summary>
    public const string Forms = "byte, gpt2, or the path of a Hugging Face tokenizer.json (BPE)";

    /// <summary>The file name a run directory keeps its tokenizer.json under (also the value config.json records).</summary>
    public const string RunFileName = "tokenizer.json";

    /// <summary>
    /// The tokenizer <paramref name="spec"/> names: <c>byte</c>, <c>gpt2</c>, or the path of a tokenizer.json (relative
    /// paths against the current directory). A missing, corrupt or unsupported file is an error naming it
    /// (<see cref="FileNotFoundException"/>, <see cref="InvalidDataException"/>); anything else is an <see cref="ArgumentException"/>.
    /// </summary>
    public static ITextTokenizer Create(string spec) => Create(spec, null);

    private static ITextTokenizer Create(string spec, string? baseDir)
    {
        ArgumentNullException.ThrowIfNull(spec);
        switch (spec)
        {
            case "byte": return ByteTokenizer.Instance;
            case "gpt2": return new Gpt2Tokenizer();
        }
        var path = baseDir != null && !Path.IsPathRooted(spec) ? Path.Combine(baseDir, spec) : spec;
        if (File.Exists(path)) return HfTokenizer.Load(path);
        if (Directory.Exists(path))
        {
            var inside = Path.Combine(path, RunFileName);
            if (File.Exists(inside)) return HfTokenizer.Load(inside);
            throw new FileNotFoundException($"tokenizer '{spec}' is a directory without a {RunFileName}", inside);
        }
        if (LooksLikePath(spec))
            throw new FileNotFoundException($"tokenizer file '{path}' does not exist (expected {Forms})", path);
        throw new ArgumentException($"unknown tokenizer '{spec}' (expected {Forms})");
    }

    private static bool LooksLikePath(string s) =>
        s.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || s.Contains('/') || s.Contains('\\') || s.StartsWith('.');

    /// <summary>
    /// Keeps <paramref name="tokenizer"/> in the run directory <paramref name="runDir"/> and returns the value to record as
    /// config.json's <c>tokenizer</c>: the name for the built-ins (nothing is written), <see cref="RunFileName"/> for a
    /// tokenizer.json, whose exact bytes are written to <c>runDir/tokenizer.json</c>. An existing different
    /// tokenizer.json there is replaced when <paramref name="overwrite"/> (a fresh run), else an error (a resumed run must
    /// keep its tokenizer). Safe to call from several processes at once (data-parallel ranks).
    /// </summary>
    public static string SaveForRun(ITextTokenizer tokenizer, string runDir, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrEmpty(runDir);
        if (tokenizer is not HfTokenizer hf) return tokenizer.Name;
        Directory.CreateDirectory(runDir);
        var target = Path.Combine(runDir, RunFileName);
        var bytes = hf.FileBytes.ToArray();
        if (File.Exists(target))
        {
            if (File.ReadAllBytes(target).AsSpan().SequenceEqual(bytes)) return RunFileName;
            if (!overwrite)
                throw new InvalidOperationException($"{target} already holds a different tokenizer than {hf.SourcePath}; resume with that tokenizer or start a fresh run");
        }
        // A unique temporary name and an atomic move: data-parallel ranks may all save the same file at once.
        var tmp = $"{target}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
        return RunFileName;
    }

    /// <summary>
    /// The tokenizer a run was trained with: <paramref name="overrideSpec"/> when given (as <see cref="Create(string)"/>),
    /// else the config's <paramref name="configured"/> value (<c>byte</c>, <c>gpt2</c>, or a tokenizer.json path relative
    /// to <paramref name="runDir"/>, normally <see cref="RunFileName"/>), else the run directory's tokenizer.json if it has
    /// one; otherwise an <see cref="InvalidDataException"/>.
    /// </summary>
    public static ITextTokenizer ForRun(string runDir, string? configured, string? overrideSpec = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDir);
        if (overrideSpec != null) return Create(overrideSpec);
        if (configured != null) return Create(configured, runDir);
        if (File.Exists(Path.Combine(runDir, RunFileName))) return HfTokenizer.Load(Path.Combine(runDir, RunFileName));
        throw new InvalidDataException($"{Path.Combine(runDir, "config.json")} does not name its tokenizer and the run has no {RunFileName}; pass --tokenizer ({Forms})");
    }
}
