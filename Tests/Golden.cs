namespace LightNet.Tests;

/// <summary>Locates ../shared/golden (or LIGHTNET_GOLDEN_DIR); tests fail, not skip, when it is missing, since CI has it.</summary>
internal static class Golden
{
    public static string Dir
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("LIGHTNET_GOLDEN_DIR");
            if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? env : throw new DirectoryNotFoundException($"LIGHTNET_GOLDEN_DIR={env} does not exist");
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            {
                if (!System.IO.File.Exists(Path.Combine(d.FullName, "LightNet.Engine.sln"))) continue;
                var g = Path.GetFullPath(Path.Combine(d.FullName, "..", "shared", "golden"));
                if (Directory.Exists(g)) return g;
                throw new DirectoryNotFoundException($"golden files not found at {g} (expected ../shared/golden beside the repository, or set LIGHTNET_GOLDEN_DIR)");
            }
            throw new DirectoryNotFoundException("golden files: repository root (LightNet.Engine.sln) not found above " + AppContext.BaseDirectory);
        }
    }

    public static string FilePath(string name) => Path.Combine(Dir, name);
}
