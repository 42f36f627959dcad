namespace LightNet;

/// <summary>
/// Thread count for CPU kernels (<c>LIGHTNET_NUM_THREADS</c> or <see cref="Threads"/>). Kernels split
/// work into fixed partitions that do not depend on the thread count, so results are identical for
/// any setting.
/// </summary>
public static class Parallelism
{
    /// <summary>Environment variable that sets the initial thread count.</summary>
    public const string EnvVar = "LIGHTNET_NUM_THREADS";

    private static int _threads = ReadEnv();

    private static int ReadEnv() =>
        int.TryParse(Environment.GetEnvironmentVariable(EnvVar), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? n : Environment.ProcessorCount;

    /// <summary>Why <c>LIGHTNET_NUM_THREADS</c> is not a usable value (then every core is used), or null when it is unset or valid.</summary>
    public static string? EnvironmentError
    {
        get
        {
            var s = Environment.GetEnvironmentVariable(EnvVar);
            if (string.IsNullOrEmpty(s)) return null;
            return int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
                ? null : $"{EnvVar} must be a positive integer, got '{s}'";
        }
    }

    /// <summary>Maximum number of threads a kernel uses.</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "thread count must be positive");
    }

    /// <summary>Runs body(i) for i in [0, count), in parallel when it pays.</summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        if (_threads == 1 || count == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = _threads }, body);
    }

    /// <summary>Splits [0, n) into fixed chunks of <paramref name="chunk"/> and runs body(start, length) on each.</summary>
    public static void ForChunks(long n, long chunk, Action<long, int> body)
    {
        if (n <= 0) return;
        long chunks = (n + chunk - 1) / chunk;
        if (chunks == 1) { body(0, (int)n); return; }
        For((int)chunks, c =>
        {
            long s = c * chunk;
            body(s, (int)Math.Min(chunk, n - s));
        });
    }
}
