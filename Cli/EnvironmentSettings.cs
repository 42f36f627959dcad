namespace LightNet.Cli;

/// <summary>
/// The engine's environment variables, checked before any command runs: a value that cannot mean anything is a named
/// error (exit code 2), never ignored silently.
/// </summary>
internal static class EnvironmentSettings
{
    /// <summary>Why a setting is unusable, one line each (empty when all are fine or unset).</summary>
    public static IEnumerable<string> Problems()
    {
        if (Parallelism.EnvironmentError is { } threads) yield return threads;
        foreach (var name in new[] { "LIGHTNET_CUBLAS", "LIGHTNET_NVRTC" })
            if (Value(name) is { } v && v is not ("0" or "1"))
                yield return $"{name} must be 0 or 1, got '{v}'";
        if (Value("LIGHTNET_CUDA_PTX_DIR") is { } ptx && !Directory.Exists(ptx))
            yield return $"LIGHTNET_CUDA_PTX_DIR={ptx} is not a folder (it names a folder of .ptx files built by scripts/ptx.sh)";
        if (Value("LIGHTNET_CUDA_LIB_DIR") is { } libs)
            foreach (var dir in libs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                if (!Directory.Exists(dir)) yield return $"LIGHTNET_CUDA_LIB_DIR names '{dir}', which is not a folder";
        if (Value(Models.Data.DataCache.EnvVar) is { } data && File.Exists(data))
            yield return $"{Models.Data.DataCache.EnvVar}={data} is a file; it must name the data cache folder";
    }

    private static string? Value(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
