using System.Diagnostics;
using System.Globalization;

namespace LightNet.Perf;

/// <summary>
/// Kernel report: each kernel's throughput against the ceilings measured in the same run (median of
/// repeated timings after a warm-up). Usage: <c>report [all|ceilings|matmul|elementwise|tpe]</c>;
/// <c>report scans [--full]</c> is the one-scan-vs-2k-scans study (<see cref="ScanStudyReport"/>), <c>report scaling</c> the
/// kernels' thread scaling (<see cref="ScalingReport"/>), <c>report cpu-peer</c> the engine against PyTorch on the CPU
/// (<see cref="CpuPeerReport"/>).
/// </summary>
public static class Report
{
    /// <summary>Prints the ceilings and the sections named by <c>args[0]</c> (default <c>all</c>); returns 0.</summary>
    public static int Run(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        var what = args.Length > 0 ? args[0] : "all";
        int threads = Parallelism.Threads;
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, kernels use {threads} threads, AVX-512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}");
        if (what is "scans") return ScanStudyReport.Run(args[1..]);
        if (what is "scaling") return ScalingReport.Run(args[1..]);
        if (what is "cpu-peer") return CpuPeerReport.Run(args[1..]);
        double peak1 = Ceilings.FmaGflops(1), peakN = Ceilings.FmaGflops(threads), bw = Ceilings.StreamGBps(threads);
        Console.WriteLine($"ceilings: fp32 FMA {peak1:F1} GFLOP/s on 1 core, {peakN:F1} GFLOP/s on {threads}; streaming memory {bw:F1} GB/s on {threads}");
        LibraryCheck(threads, peakN, bw);
        if (what is "all" or "matmul") Matmul(threads);
        if (what is "all" or "elementwise") Elementwise(threads);
        if (what is "all" or "attention") AttentionReport.Run(peakN);
        if (what is "lrpe") AttentionReport.LrpeFusion();
        if (what is "all" or "tpe") TpeReport.Run();
        return 0;
    }

    /// <summary>
    /// The library's figures beside the probes (<see cref="OpenBlas"/>): a probe that a well-tuned sgemm or saxpy beats is too low,
    /// and every "% of ceiling" measured against it flatters the kernel.
    /// </summary>
    private static void LibraryCheck(int threads, double peak, double bw)
    {
        if (!OpenBlas.Available)
        {
            Console.WriteLine("library check: OpenBLAS not found (Debian libopenblas0-pthread); the probes are unchecked");
            return;
        }
        double gemm = OpenBlas.SgemmGflops(2048, threads), axpy = OpenBlas.SaxpyGBps(threads);
        Console.WriteLine($"library check: {OpenBlas.Description.Trim()}, kernel {OpenBlas.Kernel}: sgemm 2048³ {gemm:F1} GFLOP/s = {gemm / peak:P0} of the FMA probe, " +
            $"saxpy {axpy:F1} GB/s = {axpy / bw:P0} of the streaming probe (on {threads} thread{(threads == 1 ? "" : "s")})");
        if (OpenBlas.Kernel == "Prescott" && System.Runtime.Intrinsics.X86.Avx2.IsSupported)
            Console.WriteLine("library check: OpenBLAS fell back to its SSE3 Prescott kernel on this CPU; run with OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2) for its real figure");
    }

    /// <summary>The word after <paramref name="name"/> in a report's arguments (<c>--rounds 5</c>), or null when it is absent.</summary>
    public static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Median seconds of <paramref name="reps"/> runs after one warm-up.</summary>
    public static double Time(Action a, int reps = 7)
    {
        a();
        var t = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            t[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(t);
        return t[reps / 2];
    }

    /// <summary>
    /// Times <paramref name="op"/> <paramref name="pairs"/> times after one warm-up, each time right after a fresh reading of
    /// <paramref name="ceiling"/> (in units of work per ns, e.g. GB/s or GFLOP/s): the median ms, the rate of
    /// <paramref name="work"/> at that median, and the median per-pair fraction of the ceiling. The VM's bandwidth and cores
    /// come and go within seconds, so a ceiling taken once at the start misjudges the ops timed later.
    /// </summary>
    private static (double Ms, double Rate, double Fraction) Paired(Func<double> ceiling, Action op, double work, int pairs)
    {
        var ms = new double[pairs]; var fraction = new double[pairs];
        op();
        for (int i = 0; i < pairs; i++)
        {
            double c = ceiling();
            var sw = Stopwatch.StartNew();
            op();
            ms[i] = sw.Elapsed.TotalMilliseconds;
            fraction[i] = work / (ms[i] * 1e6) / c;
        }
        Array.Sort(ms); Array.Sort(fraction);
        return (ms[pairs / 2], work / (ms[pairs / 2] * 1e6), fraction[pairs / 2]);
    }

    /// <summary>Each product against the FMA ceiling measured right before it with the same threads (a 5 ms probe).</summary>
    private static void Matmul(int threads)
    {
        void Row(string name, Tensor a, Tensor b, int pairs)
        {
            var (ms, gf, f) = Paired(() => Ceilings.FmaGflops(threads, 2_000_000, 1), () => Tensor.Matmul(a, b).Dispose(),
                2.0 * a.Size(0) * a.Size(1) * b.Size(1), pairs);
            Console.WriteLine($"matmul fp32 {name,-26} {ms,8:F2} ms  {gf,6:F1} GFLOP/s = {f:P0} of the FMA ceiling measured next to it");
        }
        foreach (var (m, k, n) in new[] { (1024, 1024, 1024), (2048, 2048, 2048), (4096, 512, 512), (512, 4096, 512), (8192, 64, 64) })
        {
            using var a = Tensor.RandN([m, k]);
            using var b = Tensor.RandN([k, n]);
            Row($"{m}x{k}x{n}", a, b, m >= 2048 ? 5 : 15);
        }
        using (var a = Tensor.RandN([1024, 1024]))
        using (var b = Tensor.RandN([1024, 1024]))
        using (var bt = b.Transpose())
            Row("1024³, B transposed", a, bt, 15);
    }

    /// <summary>Each op against the streaming bandwidth measured right before it, 15 times in turn (<see cref="Paired"/>).</summary>
    private static void Elementwise(int threads)
    {
        const int n = 16 << 20;
        using var x = Tensor.RandN([n]);
        using var y = Tensor.RandN([n]);
        var probe = new StreamProbe(threads);
        void Row(string name, Action f, double bytes)
        {
            var (ms, gbs, fraction) = Paired(probe.GBps, f, bytes, 15);
            Console.WriteLine($"{name,-28} {ms,8:F2} ms  {gbs,6:F1} GB/s = {fraction:P0} of the streaming bandwidth measured next to it");
        }
        Row("add fp32 16M", () => (x + y).Dispose(), 3.0 * n * 4);
        Row("mul-scalar fp32 16M", () => (x * 2.0).Dispose(), 2.0 * n * 4);
        Row("exp fp32 16M", () => x.Exp().Dispose(), 2.0 * n * 4);
        Row("silu fp32 16M", () => x.Silu().Dispose(), 2.0 * n * 4);
        Row("sum fp32 16M", () => x.Sum().Dispose(), 1.0 * n * 4);
        Row("max fp32 16M", () => x.Max().Dispose(), 1.0 * n * 4);
        using var x2 = x.View(4096, 4096);
        Row("sum rows fp32 4096x4096", () => x2.Sum(1).Dispose(), 1.0 * n * 4);
        Row("softmax rows fp32 4096x4096", () => x2.Softmax(-1).Dispose(), 2.0 * n * 4);
        using var w = Tensor.Ones([4096]);
        Row("rmsnorm rows fp32 4096x4096", () => { var (a, b) = Tensor.RmsNorm(x2, w, 1e-6); a.Dispose(); b.Dispose(); }, 2.0 * n * 4);
    }
}
