using System.Diagnostics;
using LightNet.Autograd;
using LightNet.Models.LightNet;

namespace LightNet.Perf;

/// <summary>
/// The paper's "one scan vs 2k scans" study (<c>report scans [--full] [--rounds N] [--profile]</c>): the LightNet layer
/// (one non-causal additive scan over the flattened grid, MD-LRPE with the grid's angles, as the image models call it)
/// against the multiplicative-decay layer (2k directional gated scans, batched per axis length) at the same width,
/// forward + backward, float32 on the CPU. Every round times each measured item once, in alternating order, in one process;
/// the table gives medians over rounds and the peak of the engine's live host bytes during one step.
/// </summary>
public static class ScanStudyReport
{
    private const int Hidden = 128, Heads = 4, GateRank = 32, TokensPerBatch = 8192;
    private const double LrpeBase = 10000;

    /// <summary>Prints the table and one <c>scan-study</c> line per grid; returns 0.</summary>
    public static int Run(string[] args)
    {
        bool full = args.Contains("--full"), profile = args.Contains("--profile");
        int rounds = Report.Option(args, "--rounds") is string r ? int.Parse(r, System.Globalization.CultureInfo.InvariantCulture) : 11;
        List<int[]> grids = [[16, 16], [32, 32], [64, 64], [8, 8, 8], [16, 16, 16]];
        if (full) grids.AddRange([[128, 128], [32, 32, 32]]);
        var cfg = AttentionConfig.FromFla(Hidden, Heads, null, GateRank, causal: false);
        Console.WriteLine($"scan study: float32, CPU, {Parallelism.Threads} threads; hidden {Hidden}, {Heads} heads (d = e = {cfg.HeadKDim}), gate rank {GateRank}; " +
            $"batch B = max(1, {TokensPerBatch} / tokens); forward + backward (x and all weights) of one mixer layer; median of {rounds} alternating rounds");
        Console.WriteLine("LightNet = one non-causal additive scan over the flattened grid with MD-LRPE (feature dim 2d); 2k-scan = multiplicative decay, " +
            "a forward and a reversed scan along each axis, lines of equal length batched into one gated call; one gated scan = the forward lines of the first axis " +
            "in one gated call with the layer's q, k, v and decays (chunk 64 as the layer runs it, and chunk 16, where every chunk takes the single-factor form)");
        Console.WriteLine("| grid | B | tokens | LightNet layer ms | 2k-scan layer ms | R = 2k-scan / LightNet | one gated scan ms | same, chunk 16 | LightNet additive scan ms | LightNet peak MB | 2k-scan peak MB |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        var lines = new List<string>();
        foreach (var grid in grids)
        {
            var (row, ratio) = Row(cfg, grid, rounds);
            Console.WriteLine(row);
            lines.Add($"scan-study {grid.Length}d {string.Join("x", grid)} ratio {ratio:F2}");
        }
        Console.WriteLine();
        foreach (var l in lines) Console.WriteLine(l);
        if (profile) Profile(cfg, full ? [[128, 128], [32, 32, 32]] : [[64, 64], [16, 16, 16]]);
        return 0;
    }

    /// <summary>The two layers and the two single scans of one grid, with their inputs.</summary>
    private sealed class Case : IDisposable
    {
        public Case(AttentionConfig cfg, int[] grid)
        {
            Grid = grid;
            Tokens = grid.Aggregate(1, (a, b) => a * b);
            Batch = Math.Max(1, TokensPerBatch / Tokens);
            LightNet = new LightNetAttention(cfg, new Generator(1));
            Baseline = new MultiplicativeDecayAttention(cfg, new Generator(1));
            X = new Variable(DisposalScope.Detach(Tensor.RandN([Batch, Tokens, Hidden], new Generator(2))), requiresGrad: true);
            Angles = DisposalScope.Detach(MdLrpe.Angles(grid, cfg.HeadKDim, 0, LrpeBase, dtype: DType.Float32));
            using var ng = NoGrad.Scope();
            using var scope = DisposalScope.Begin();
            Variable H(Variable t) => t.Reshape(Batch, Tokens, Heads, -1).Permute(0, 2, 1, 3);
            Variable Leaf(Variable t) => new(scope.Keep(t.Data.Contiguous()), requiresGrad: true);
            // The additive scan's inputs, as the LightNet layer makes them.
            var x = X;
            LnQ = Leaf(H(LightNet.QProj.Forward(x).Silu())); LnK = Leaf(H(LightNet.KProj.Forward(x))); LnV = Leaf(H(LightNet.VProj.Forward(x)));
            // One directional scan of the baseline: the forward lines of axis 0, as the layer batches them.
            var (length, idx) = MultiplicativeDecayAttention.LineIndex(grid)[0];
            using var index = Tensor.FromArray(idx[..Tokens]);
            Variable Lines(Variable t) => Leaf(H(t).IndexSelect(2, index).Reshape(Batch * Heads, -1, length, cfg.HeadKDim));
            GQ = Lines(Baseline.QProj.Forward(x).Silu()); GK = Lines(Baseline.KProj.Forward(x)); GV = Lines(Baseline.VProj.Forward(x));
            GG = Lines(MultiplicativeDecayAttention.LogSigmoid(Baseline.FProj.Forward(x)));
        }

        public int[] Grid { get; }
        public int Tokens { get; }
        public int Batch { get; }
        public LightNetAttention LightNet { get; }
        public MultiplicativeDecayAttention Baseline { get; }
        public Variable X { get; }
        public Tensor Angles { get; }
        public Variable LnQ { get; }
        public Variable LnK { get; }
        public Variable LnV { get; }
        public Variable GQ { get; }
        public Variable GK { get; }
        public Variable GV { get; }
        public Variable GG { get; }

        /// <summary>Forward and backward of the LightNet layer, the baseline layer, one gated scan, one additive scan, the gated scan with chunk 16.</summary>
        public Action[] Items => [
            () => Step(() => LightNet.Forward(X, null, Angles)),
            () => Step(() => Baseline.Forward(X, Grid)),
            () => Step(() => AttentionOps.Gated(GQ, GK, GV, GG, LightNet.Config.Scale).O),
            () => Step(() => AttentionOps.AdditiveNonCausal(LnQ, LnK, LnV, LightNet.Config.Scale, null, Angles)),
            () => Step(() => AttentionOps.Gated(GQ, GK, GV, GG, LightNet.Config.Scale, null, 16).O),
        ];

        private void Step(Func<Variable> f)
        {
            using (var s = DisposalScope.Begin()) f().Sum().Backward();
            foreach (var v in new[] { X, LnQ, LnK, LnV, GQ, GK, GV, GG }) v.ZeroGrad();
            LightNet.ZeroGrad();
            Baseline.ZeroGrad();
        }

        public void Dispose()
        {
            foreach (var t in new[] { X.Data, Angles, LnQ.Data, LnK.Data, LnV.Data, GQ.Data, GK.Data, GV.Data, GG.Data }) t.Dispose();
            foreach (var p in LightNet.Parameters().Concat(Baseline.Parameters())) p.Data.Dispose();
        }
    }

    private static (string Row, double Ratio) Row(AttentionConfig cfg, int[] grid, int rounds)
    {
        using var c = new Case(cfg, grid);
        var items = c.Items;
        var peak = new double[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            items[i]();  // warm-up
            long before = MemoryStats.LiveHostBytes;
            MemoryStats.ResetPeakHostBytes();
            items[i]();
            peak[i] = (MemoryStats.PeakHostBytes - before) / 1048576.0;
        }
        var ms = new double[items.Length][];
        for (int i = 0; i < items.Length; i++) ms[i] = new double[rounds];
        for (int r = 0; r < rounds; r++)
            for (int j = 0; j < items.Length; j++)
            {
                int i = r % 2 == 0 ? j : items.Length - 1 - j;
                var sw = Stopwatch.StartNew();
                items[i]();
                ms[i][r] = sw.Elapsed.TotalMilliseconds;
            }
        var med = ms.Select(m => { Array.Sort(m); return m[rounds / 2]; }).ToArray();
        double ratio = med[1] / med[0];
        string g = string.Join("×", grid);
        return ($"| {g} | {c.Batch} | {c.Tokens} | {med[0]:F1} | {med[1]:F1} | {ratio:F2} | {med[2]:F1} | {med[4]:F1} | {med[3]:F1} | {peak[0]:F1} | {peak[1]:F1} |", ratio);
    }

    /// <summary>Per-kernel time of one forward + backward of each layer (the engine's <see cref="Profiler"/>), three steps each.</summary>
    private static void Profile(AttentionConfig cfg, int[][] grids)
    {
        foreach (var grid in grids)
        {
            using var c = new Case(cfg, grid);
            var items = c.Items;
            foreach (var (name, i) in new[] { ("LightNet layer", 0), ("2k-scan layer", 1) })
                KernelProfile.Print($"{name}, grid {string.Join("×", grid)}, B = {c.Batch}, forward + backward", items[i]);
        }
    }
}
