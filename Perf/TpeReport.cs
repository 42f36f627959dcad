using System.Diagnostics;
using LightNet.Cpu;
using MathNet.Numerics.IntegralTransforms;

namespace LightNet.Perf;

/// <summary>
/// MD-TPE report (<c>report tpe</c>): own radix-2 FFT vs MathNet.Numerics on one core, then direct vs FFT
/// Toeplitz (float32, B = 1, c = 256, forward and backward) for 1-D T = 256…8192 and 2-D 14², 32², 64², with
/// the algorithm the cost model picks.
/// </summary>
public static class TpeReport
{
    /// <summary>Seconds of one run when it is long, else the median of several after a warm-up.</summary>
    private static double Time(Action a)
    {
        var sw = Stopwatch.StartNew();
        a();
        double first = sw.Elapsed.TotalSeconds;
        return first > 0.5 ? first : Report.Time(a, first > 0.05 ? 3 : 7);
    }

    /// <summary>Prints the FFT-engine comparison and the direct-vs-FFT Toeplitz table.</summary>
    public static void Run()
    {
        FftEngines();
        const int c = 256;
        Console.WriteLine();
        Console.WriteLine($"MD-TPE Toeplitz, float32, B = 1, c = {c}, {Parallelism.Threads} threads; ms per call (fwd = forward, bwd = dx + dkernel)");
        Console.WriteLine("| grid | N | FFT size | direct fwd | FFT fwd | direct bwd | FFT bwd | fwd speed-up of FFT | Auto picks |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        int[][] grids = [[256], [512], [1024], [2048], [4096], [8192], [14, 14], [32, 32], [64, 64]];
        foreach (var grid in grids) Row(grid, c);
        Console.WriteLine();
        Console.WriteLine($"Auto crossover (FftCostPerPoint = {ToeplitzPlan.FftCostPerPoint}): {Crossover1d(c)}; {Crossover2d(c)}");
    }

    private static void Row(int[] grid, int c)
    {
        var plan = new ToeplitzPlan(grid);
        using var x = Tensor.RandN([1, plan.Tokens, c], new Generator(1));
        using var k = Tensor.RandN(plan.KernelShape(c), new Generator(2), std: 0.05);
        using var dy = Tensor.RandN([1, plan.Tokens, c], new Generator(3));
        var direct = plan.With(ToeplitzAlgorithm.Direct);
        var fft = plan.With(ToeplitzAlgorithm.Fft);
        double df = Time(() => Tensor.Toeplitz(x, k, direct).Dispose());
        double ff = Time(() => Tensor.Toeplitz(x, k, fft).Dispose());
        double db = Time(() => { var (a, b) = Tensor.ToeplitzBackward(x, k, dy, direct); a?.Dispose(); b?.Dispose(); });
        double fb = Time(() => { var (a, b) = Tensor.ToeplitzBackward(x, k, dy, fft); a?.Dispose(); b?.Dispose(); });
        string g = string.Join("×", grid);
        string m = string.Join("×", plan.FftSizes());
        Console.WriteLine($"| {g} | {plan.Tokens} | {m} | {df * 1e3:F2} | {ff * 1e3:F2} | {db * 1e3:F2} | {fb * 1e3:F2} | {df / ff:F2}× | {plan.Resolve(1, c).Algorithm} |");
    }

    private static string Crossover1d(int c)
    {
        for (int t = 2; t <= 1 << 16; t++)
            if (new ToeplitzPlan([t]).Resolve(1, c).Algorithm == ToeplitzAlgorithm.Fft) return $"1-D picks FFT from T = {t} (B = 1, c = {c})";
        return "1-D never picks FFT up to T = 65536";
    }

    private static string Crossover2d(int c)
    {
        for (int n = 2; n <= 512; n++)
            if (new ToeplitzPlan([n, n]).Resolve(1, c).Algorithm == ToeplitzAlgorithm.Fft) return $"2-D square picks FFT from {n}×{n}";
        return "2-D never picks FFT up to 512×512";
    }

    /// <summary>One complex transform on one core: own radix-2 split-array FFT vs MathNet.Numerics (split float arrays, no scaling).</summary>
    private static void FftEngines()
    {
        MathNet.Numerics.Control.UseSingleThread();
        Console.WriteLine("complex FFT, float32, one core, µs per transform (own radix-2 vs MathNet.Numerics Fourier.Forward(re, im, NoScaling))");
        Console.WriteLine("| length | own | MathNet | MathNet / own | max abs diff / max abs X |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (int n in new[] { 256, 1024, 4096, 16384, 65536 })
        {
            var rnd = new Random(n);
            var re0 = Enumerable.Range(0, n).Select(_ => (float)rnd.NextDouble() - 0.5f).ToArray();
            var im0 = Enumerable.Range(0, n).Select(_ => (float)rnd.NextDouble() - 0.5f).ToArray();
            var re = (float[])re0.Clone(); var im = (float[])im0.Clone();
            var f = Fft<float>.Of(n);
            int reps = Math.Max(3, (1 << 22) / n);
            double own = Report.Time(() => { for (int r = 0; r < reps; r++) f.Forward(re, im); }) / reps;
            double mn = Report.Time(() => { for (int r = 0; r < reps; r++) Fourier.Forward(re, im, FourierOptions.NoScaling); }) / reps;
            float[] ar = (float[])re0.Clone(), ai = (float[])im0.Clone(), br = (float[])re0.Clone(), bi = (float[])im0.Clone();
            f.Forward(ar, ai);
            Fourier.Forward(br, bi, FourierOptions.NoScaling);
            double diff = 0, mag = 0;
            for (int i = 0; i < n; i++) { diff = Math.Max(diff, Math.Max(Math.Abs(ar[i] - br[i]), Math.Abs(ai[i] - bi[i]))); mag = Math.Max(mag, Math.Abs(br[i])); }
            Console.WriteLine($"| {n} | {own * 1e6:F1} | {mn * 1e6:F1} | {mn / own:F2}× | {diff / mag:G2} |");
        }
        MathNet.Numerics.Control.UseMultiThreading();
    }
}
