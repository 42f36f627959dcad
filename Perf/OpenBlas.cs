using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LightNet.Perf;

/// <summary>
/// OpenBLAS, loaded at run time where installed (Debian <c>libopenblas0-pthread</c>), as the well-tuned library the ceiling
/// probes are checked against: its sgemm must not beat the FMA probe and its saxpy must not beat the streaming probe.
/// OpenBLAS picks its kernel from the CPU model when it loads; on CPUs newer than the library (e.g. 0.3.21 on a Xeon of
/// model 207) it falls back to the SSE3 <c>Prescott</c> kernel unless <c>OPENBLAS_CORETYPE</c> (SkylakeX, Haswell) is set.
/// </summary>
internal static unsafe class OpenBlas
{
    private static readonly nint Lib = Load();
    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm =
        (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)Export("cblas_sgemm");
    private static readonly delegate* unmanaged<int, float, float*, int, float*, int, void> Saxpy =
        (delegate* unmanaged<int, float, float*, int, float*, int, void>)Export("cblas_saxpy");
    private static readonly delegate* unmanaged<int, void> SetThreads = (delegate* unmanaged<int, void>)Export("openblas_set_num_threads");
    private static readonly delegate* unmanaged<nint> CoreName = (delegate* unmanaged<nint>)Export("openblas_get_corename");
    private static readonly delegate* unmanaged<nint> Config = (delegate* unmanaged<nint>)Export("openblas_get_config");

    private static nint Load()
    {
        foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblas.dylib", "libopenblas.dll" })
            if (NativeLibrary.TryLoad(name, out var h)) return h;
        return 0;
    }

    private static nint Export(string name) => Lib != 0 && NativeLibrary.TryGetExport(Lib, name, out var p) ? p : 0;

    /// <summary>Whether the library and the functions used here were found.</summary>
    public static bool Available => Sgemm != null && Saxpy != null && SetThreads != null && CoreName != null && Config != null;

    /// <summary>The kernel OpenBLAS chose for this CPU (e.g. <c>SkylakeX</c>, <c>Haswell</c>, <c>Prescott</c>).</summary>
    public static string Kernel => Marshal.PtrToStringAnsi(CoreName()) ?? "?";

    /// <summary>The library's build description (version, DYNAMIC_ARCH, threads).</summary>
    public static string Description => Marshal.PtrToStringAnsi(Config()) ?? "?";

    /// <summary>Best GFLOP/s of <paramref name="reps"/> row-major n×n×n sgemm calls on <paramref name="threads"/> threads.</summary>
    public static double SgemmGflops(int n, int threads, int reps = 5)
    {
        SetThreads(threads);
        var a = Filled(n * n, 0.5f); var b = Filled(n * n, 0.25f); var c = new float[n * n];
        double best = 0;
        fixed (float* pa = a, pb = b, pc = c)
            for (int r = 0; r <= reps; r++)
            {
                var sw = Stopwatch.StartNew();
                Sgemm(101, 111, 111, n, n, n, 1f, pa, n, pb, n, 0f, pc, n); // row-major, no transposes
                if (r > 0) best = Math.Max(best, 2.0 * n * n * n / sw.Elapsed.TotalSeconds / 1e9);
            }
        return best;
    }

    /// <summary>Best GB/s of saxpy (y += a·x: two reads, one write) over 2 × 128 MiB on <paramref name="threads"/> threads, as the streaming probe counts them.</summary>
    public static double SaxpyGBps(int threads, int reps = 5)
    {
        SetThreads(threads);
        const int n = 32 << 20;
        var x = Filled(n, 1f); var y = Filled(n, 2f);
        double best = 0;
        fixed (float* px = x, py = y)
            for (int r = 0; r <= reps; r++)
            {
                var sw = Stopwatch.StartNew();
                Saxpy(n, 1e-3f, px, 1, py, 1);
                if (r > 0) best = Math.Max(best, 3.0 * n * 4 / sw.Elapsed.TotalSeconds / 1e9);
            }
        return best;
    }

    private static float[] Filled(int n, float v) { var a = new float[n]; a.AsSpan().Fill(v); return a; }
}
