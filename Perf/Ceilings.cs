using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace LightNet.Perf;

/// <summary>Measures this machine's fp32 FMA peak and memory bandwidth, the ceilings kernels are reported against.</summary>
public static class Ceilings
{
    /// <summary>Width in floats of the widest hardware-accelerated vector (16 with AVX-512, 8 with AVX2).</summary>
    public static int Lanes => Vector512.IsHardwareAccelerated ? 16 : 8;

    /// <summary>
    /// fp32 FMA GFLOP/s with <paramref name="threads"/> threads (independent FMA chains of the widest accelerated vector:
    /// 16 of 512 bits, 12 of 256 bits, all held in registers), the best of <paramref name="reps"/> passes of <paramref name="iters"/> iterations.
    /// </summary>
    public static double FmaGflops(int threads, long iters = 20_000_000, int reps = 3)
    {
        double best = 0;
        for (int rep = 0; rep < reps; rep++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => Sink(Lanes == 16 ? FmaLoop512(iters) : FmaLoop256(iters)));
            double s = sw.Elapsed.TotalSeconds;
            best = Math.Max(best, threads * iters * (Lanes == 16 ? 16.0 : 12.0) * Lanes * 2 / s / 1e9);
        }
        return best;
    }

    private static float _sink;
    private static void Sink(float v) => _sink += v;

    private static float FmaLoop512(long iters)
    {
        var m = Vector512.Create(0.999999f);
        var c = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
            a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (long i = 0; i < iters; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
            a12 = Vector512.FusedMultiplyAdd(a12, m, c); a13 = Vector512.FusedMultiplyAdd(a13, m, c);
            a14 = Vector512.FusedMultiplyAdd(a14, m, c); a15 = Vector512.FusedMultiplyAdd(a15, m, c);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
        return Vector512.Sum(s);
    }

    /// <summary>
    /// Twelve chains, not sixteen: AVX2 has 16 vector registers, and 16 accumulators plus the two constants spill to the
    /// stack, which puts loads and stores into every chain and reads about two thirds of the real peak. Twelve cover an FMA
    /// latency of 6 cycles on two ports.
    /// </summary>
    private static float FmaLoop256(long iters)
    {
        var m = Vector256.Create(0.999999f);
        var c = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
            a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iters; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return Vector256.Sum(s);
    }

    /// <summary>Memory bandwidth in GB/s of a streaming in-place add (two reads, one write) over 2 × 128 MiB with all threads: best of 5.</summary>
    public static double StreamGBps(int threads)
    {
        var probe = new StreamProbe(threads);
        double best = 0;
        for (int rep = 0; rep < 5; rep++) best = Math.Max(best, probe.GBps());
        return best;
    }
}

/// <summary>
/// One streaming in-place add <c>y += a</c> (two reads, one write) over 2 × 128 MiB with all threads, timed on demand (for
/// measurements paired with a kernel). In place, the written lines were just read, so the bytes counted are the bytes moved;
/// an add into a third array also reads each destination line before writing it (a quarter more traffic than counted),
/// so that probe reads below what the memory sustains (and below OpenBLAS's saxpy).
/// </summary>
public sealed class StreamProbe(int threads)
{
    private const int N = 32 << 20;
    private readonly float[] _a = Filled(1), _y = Filled(0);

    private static float[] Filled(float v) { var x = new float[N]; x.AsSpan().Fill(v); return x; }

    /// <summary>y += a with 512- or 256-bit vectors, four per step, both streams prefetched 2 KiB ahead (a lone core otherwise waits on its line-fill buffers).</summary>
    private static unsafe void AddInPlace(Span<float> y, ReadOnlySpan<float> a)
    {
        fixed (float* py = y, pa = a)
        {
            int n = y.Length, i = 0, w = Vector256<float>.Count;
            for (; i + 4 * w <= n; i += 4 * w)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(py + i + 1024);
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(pa + i + 1024);
                Vector256.Store(Vector256.Load(py + i) + Vector256.Load(pa + i), py + i);
                Vector256.Store(Vector256.Load(py + i + w) + Vector256.Load(pa + i + w), py + i + w);
                Vector256.Store(Vector256.Load(py + i + 2 * w) + Vector256.Load(pa + i + 2 * w), py + i + 2 * w);
                Vector256.Store(Vector256.Load(py + i + 3 * w) + Vector256.Load(pa + i + 3 * w), py + i + 3 * w);
            }
            for (; i < n; i++) py[i] += pa[i];
        }
    }

    /// <summary>GB/s of one pass.</summary>
    public double GBps()
    {
        int chunk = N / threads;
        var sw = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            AddInPlace(_y.AsSpan(t * chunk, chunk), _a.AsSpan(t * chunk, chunk)));
        return 3.0 * N * 4 / sw.Elapsed.TotalSeconds / 1e9;
    }
}
