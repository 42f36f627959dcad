namespace LightNet.Tests;

/// <summary>
/// Locates the shared golden folder: <c>LIGHTNET_GOLDEN_DIR</c> when set, else the first <c>shared/golden</c>
/// found walking up from the test binaries (the repository's sibling <c>../shared/golden</c>). Tests that
/// need it fail, not skip, when it is missing: CI has it.
/// </summary>
internal static class GoldenFiles
{
    public const string EnvVar = "LIGHTNET_GOLDEN_DIR";

    private static readonly Lazy<string?> Found = new(Locate);

    /// <summary>The golden folder, or an assertion failure saying where it was looked for.</summary>
    public static string Dir => Found.Value ?? throw new AssertionException(
        Environment.GetEnvironmentVariable(EnvVar) is { Length: > 0 } env
            ? $"golden folder not found: {EnvVar}='{env}' is not a directory"
            : $"golden folder not found: set {EnvVar} or put 'shared/golden' beside the repository (searched upward from {AppContext.BaseDirectory})");

    /// <summary>Full path of a file in the golden folder; fails when it does not exist.</summary>
    public static string File(string name)
    {
        var p = Path.Combine(Dir, name);
        if (!System.IO.File.Exists(p)) Assert.Fail($"golden file missing: {p}");
        return p;
    }

    private static string? Locate()
    {
        var env = Environment.GetEnvironmentVariable(EnvVar);
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? Path.GetFullPath(env) : null;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "shared", "golden");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }
}
