using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>
/// The baseline mixer of the paper's "one scan vs 2k scans" claim (SPEC, end of §6): GLA-style linear
/// attention with multiplicative decay <c>λ_t = σ(x W_fᵀ)</c> (full-rank <c>f_proj</c>), no normaliser,
/// <c>S_t = diag(λ_t) S_{t−1} + k_t v_tᵀ</c>. Causal: one scan. On a k-D grid: a forward and a backward scan
/// along each axis (over the lines of that axis), 2k scans summed before the output gate; the lines of all
/// directions of equal length run as one batch in one gated call (one call per distinct axis length). Same q, k, v,
/// gate projections and output gate as <see cref="LightNetAttention"/>.
/// </summary>
public sealed class MultiplicativeDecayAttention : GatedMixer
{
    /// <summary>Creates the shared projections and <c>f_proj</c>, weights N(0, 0.02²) from <paramref name="gen"/>.</summary>
    public MultiplicativeDecayAttention(AttentionConfig cfg, Generator gen, DType dtype = DType.Float32) : base(cfg, gen, dtype)
    {
        FProj = Child("f_proj", new Linear(cfg.HiddenSize, cfg.NumHeads * cfg.HeadKDim, false, gen, dtype: dtype));
    }

    /// <summary>Decay logits <c>f_proj [H·d, c]</c>: λ = σ(x W_fᵀ).</summary>
    public Linear FProj { get; }

    /// <summary>log σ(z) = −softplus(−z), computed without overflow.</summary>
    public static Variable LogSigmoid(Variable z) => -((-z).Relu() + (1.0 + (-z.Abs()).Exp()).Log());

    /// <summary>Merged scan output [B, T, H·e]; <paramref name="grid"/> null means one causal scan.</summary>
    public Variable ScanOutput(Variable x, int[]? grid)
    {
        CheckInput("multiplicative_decay_attention", x);
        int T = x.Size(1), H = Config.NumHeads;
        var q = Heads(QProj.Forward(x).Silu(), H);
        var k = Heads(KProj.Forward(x), H);
        var v = Heads(VProj.Forward(x), H);
        var g = Heads(LogSigmoid(FProj.Forward(x)), H);
        Variable o;
        if (grid == null || grid.Length == 0) o = AttentionOps.Gated(q, k, v, g, Config.Scale).O;
        else
        {
            if (grid.Aggregate(1, (a, b) => a * b) != T) throw new ShapeException($"multiplicative_decay_attention: grid {Shape.Format(grid)} does not hold the {T} tokens of x {x.Shape}");
            Variable? sum = null;
            foreach (var (length, lines) in LineIndex(grid))
            {
                using var host = Tensor.FromArray(lines);
                var idx = host.To(q.Device); // kept alive by the graph: the backward rules read it
                var part = Scatter(AttentionOps.Gated(LineBatch(q, idx, length), LineBatch(k, idx, length), LineBatch(v, idx, length), LineBatch(g, idx, length), Config.Scale).O, idx, T);
                sum = sum == null ? part : sum + part;
            }
            o = sum!;
        }
        return Merge(o);
    }

    /// <summary>
    /// The 2k directional scans of a grid as token index lists, one per distinct axis length L: for each axis of length L in
    /// order, its lines (row-major over the other axes) forward, then the same lines reversed; every token appears once per
    /// direction. Each list, read in runs of L, is a batch of independent sequences for one gated scan.
    /// </summary>
    public static List<(int Length, long[] Lines)> LineIndex(int[] grid)
    {
        int r = grid.Length, T = grid.Aggregate(1, (a, b) => a * b);
        var stride = new int[r];
        for (int a = r - 1, s = 1; a >= 0; s *= grid[a], a--) stride[a] = s;
        var groups = new List<(int Length, long[] Lines)>();
        foreach (int L in grid.Distinct())
        {
            var axes = Enumerable.Range(0, r).Where(a => grid[a] == L).ToArray();
            var lines = new long[2 * axes.Length * T];
            int n = 0;
            foreach (int a in axes)
            {
                // Line starts: tokens whose coordinate on axis a is 0, in increasing flat order.
                var starts = Enumerable.Range(0, T).Where(t => t / stride[a] % L == 0).ToArray();
                foreach (bool reverse in new[] { false, true })
                    foreach (int t0 in starts)
                        for (int j = 0; j < L; j++) lines[n++] = t0 + (long)(reverse ? L - 1 - j : j) * stride[a];
            }
            groups.Add((L, lines));
        }
        return groups;
    }

    /// <summary>[B, H, T, dim] → the sequences named by <paramref name="idx"/> as a batch [B·H, lines, L, dim] for one gated scan.</summary>
    private static Variable LineBatch(Variable t, Tensor idx, int length) =>
        t.IndexSelect(2, idx).Reshape(t.Size(0) * t.Size(1), -1, length, t.Size(3));

    /// <summary>Scan outputs [B·H, lines, L, e] added back onto their tokens: [B, H, T, e], summed over directions.</summary>
    private Variable Scatter(Variable o, Tensor idx, int tokens)
    {
        int e = o.Size(3), H = Config.NumHeads;
        return Variable.IndexAdd(new Shape(o.Size(0) / H, H, tokens, e), 2, idx, o.Reshape(o.Size(0) / H, H, -1, e));
    }

    /// <summary>Full layer on x [B, T, c].</summary>
    public Variable Forward(Variable x, int[]? grid = null) => Gate(x, ScanOutput(x, grid));

    /// <summary>
    /// Block mixer: one causal scan when the config is causal, else the 2-scan bidirectional 1-D form. Padding
    /// masks, feature maps (MD-LRPE) and decoding states are not supported (the decay carries the positions).
    /// </summary>
    public override (Variable Y, AdditiveState? State) Mix(Variable x, Tensor? mask, Tensor? lrpeAngles, AdditiveState? state)
    {
        if (mask != null) throw new NotSupportedException("multiplicative_decay_attention: padding masks are not supported; use unpadded windows");
        if (lrpeAngles != null) throw new NotSupportedException("multiplicative_decay_attention: MD-LRPE is not supported (turn lrpe off for the GLA baseline)");
        if (state != null) throw new NotSupportedException("multiplicative_decay_attention: recurrent decoding states are not supported; run the full prefix");
        return (Forward(x, Config.Causal ? null : [x.Size(1)]), null);
    }
}
