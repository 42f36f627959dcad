using LightNet.Autograd;
using LightNet.Models.Optim;

namespace LightNet.Perf;

/// <summary>
/// Thread scaling of the hot CPU kernels (<c>report scaling [--threads 1,2,4,8,16] [--reps N]</c>): each item timed with
/// 1, 2, 4, … threads up to the machine's cores (median of the repetitions after a warm-up, float32), the speedup over one
/// thread and the parallel efficiency. The attention shape is B 4, H 8, T 2048, d = e = 64. Prints one
/// <c>scaling ITEM N threads S×</c> line per item for the largest thread count.
/// </summary>
public static class ScalingReport
{
    private const int B = 4, H = 8, T = 2048, D = 64;

    /// <summary>One timed item: a name and the work of one repetition (it allocates and frees its own outputs).</summary>
    private sealed record Item(string Name, Action Run);

    /// <summary>Prints the table and the scaling lines; returns 0, or 2 for an unusable <c>--threads</c> list.</summary>
    public static int Run(string[] args)
    {
        int reps = Report.Option(args, "--reps") is string r && int.TryParse(r, out var n) && n > 0 ? n : 5;
        int cores = Environment.ProcessorCount;
        var counts = ThreadCounts(args, cores);
        if (counts == null)
        {
            Console.Error.WriteLine("report scaling: --threads takes a comma-separated list of positive thread counts, e.g. 1,2,4");
            return 2;
        }
        int saved = Parallelism.Threads;
        using var scope = DisposalScope.Begin();
        var items = Items();
        Console.WriteLine($"thread scaling, float32, {cores} logical cores, median of {reps} after a warm-up; attention B {B}, H {H}, T {T}, d = e = {D}");
        Console.WriteLine($"| item | {string.Join(" | ", counts.Select(c => $"{c} thr ms"))} | speedup at {counts[^1]} | efficiency |");
        Console.WriteLine($"|---|{string.Concat(counts.Select(_ => "---|"))}---|---|");
        var lines = new List<string>();
        try
        {
            foreach (var item in items)
            {
                var ms = counts.Select(c => { Parallelism.Threads = c; return Report.Time(item.Run, reps) * 1e3; }).ToArray();
                double speedup = ms[0] / ms[^1];
                Console.WriteLine($"| {item.Name} | {string.Join(" | ", ms.Select(m => m.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))} | {speedup:F2}× | {speedup / counts[^1] * counts[0]:P0} |");
                lines.Add($"scaling {item.Name.Replace(' ', '-')} {counts[^1]} threads {speedup:F2}x");
            }
        }
        finally { Parallelism.Threads = saved; }
        Console.WriteLine();
        foreach (var l in lines) Console.WriteLine(l);
        return 0;
    }

    private static List<Item> Items()
    {
        var g = new Generator(1);
        Variable Leaf(int[] shape) => new(Tensor.RandN(shape, g), requiresGrad: true);
        var q = Leaf([B, H, T, D]); var k = Leaf([B, H, T, D]); var v = Leaf([B, H, T, D]);
        var dO = Tensor.RandN([B, H, T, D], g);
        var grid = new[] { 64, 32 }; // T = 2048 tokens as a 2-D grid
        var angles = MdLrpe.Angles(grid, D, dtype: DType.Float32);
        var lrpeOut = Tensor.RandN([B, H, T, 2 * D], g);
        var plan = new ToeplitzPlan([32, 32]);
        const int c = 256;
        var tx = Tensor.RandN([B, plan.Tokens, c], g);
        var tk = Tensor.RandN(plan.KernelShape(c), g, std: 0.05);
        var ty = Tensor.RandN([B, plan.Tokens, c], g);
        var direct = plan.With(ToeplitzAlgorithm.Direct);
        var fft = plan.With(ToeplitzAlgorithm.Fft);
        var nx = Leaf([B * T, 512]); var nw = new Variable(Tensor.Ones([512]), requiresGrad: true);
        var nd = Tensor.RandN([B * T, 512], g);
        var weights = Enumerable.Range(0, 8).Select(_ => new Variable(Tensor.RandN([1024, 3072], g), requiresGrad: true)).ToList();
        foreach (var w in weights) w.Grad = Tensor.RandN([1024, 3072], g, std: 1e-3);
        var adam = new AdamW(weights, lr: 1e-4);
        var ma = Tensor.RandN([2048, 2048], g); var mb = Tensor.RandN([2048, 2048], g);
        void Clear() { q.ZeroGrad(); k.ZeroGrad(); v.ZeroGrad(); nx.ZeroGrad(); nw.ZeroGrad(); }
        return
        [
            new("causal attention fwd", () => { using var s = DisposalScope.Begin(); using var ng = NoGrad.Scope(); AttentionOps.AdditiveCausal(q, k, v, 0.125); }),
            new("causal attention fwd+bwd", () => { using (DisposalScope.Begin()) AttentionOps.AdditiveCausal(q, k, v, 0.125).Backward(dO); Clear(); }),
            new("non-causal attention fwd+bwd", () => { using (DisposalScope.Begin()) AttentionOps.AdditiveNonCausal(q, k, v, 0.125).Backward(dO); Clear(); }),
            new("md-lrpe fwd+bwd", () => { MdLrpe.Apply(q.Data, angles).Dispose(); MdLrpe.Backward(lrpeOut, angles).Dispose(); }),
            new("md-tpe direct fwd+bwd", () => { Tensor.Toeplitz(tx, tk, direct).Dispose(); var (a, b) = Tensor.ToeplitzBackward(tx, tk, ty, direct); a?.Dispose(); b?.Dispose(); }),
            new("md-tpe fft fwd+bwd", () => { Tensor.Toeplitz(tx, tk, fft).Dispose(); var (a, b) = Tensor.ToeplitzBackward(tx, tk, ty, fft); a?.Dispose(); b?.Dispose(); }),
            new("rmsnorm fwd+bwd", () => { using (DisposalScope.Begin()) Variable.RmsNorm(nx, nw, 1e-6).Backward(nd); Clear(); }),
            new("adamw step 25M", adam.Step),
            new("matmul 2048", () => Tensor.Matmul(ma, mb).Dispose()),
        ];
    }

    /// <summary>The --threads list, or 1, 2, 4, … up to the cores (the core count itself last when it is not a power of two).</summary>
    private static int[]? ThreadCounts(string[] args, int cores)
    {
        if (args.Contains("--threads"))
        {
            if (Report.Option(args, "--threads") is not string given) return null;
            var parts = given.Split(',');
            var list = new List<int>();
            foreach (var p in parts)
                if (int.TryParse(p, out var n) && n > 0) list.Add(n);
                else return null;
            return [.. list];
        }
        var counts = new List<int>();
        for (int n = 1; n <= cores; n *= 2) counts.Add(n);
        if (counts[^1] != cores) counts.Add(cores);
        return [.. counts];
    }
}
