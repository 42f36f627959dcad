using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>
/// The baseline mixer of the paper's "one scan vs 2k scans" claim (SPEC, end of §6): GLA-style linear
/// attention with multiplicative decay <c>λ_t = σ(x W_fᵀ)</c> (full-rank <c>f_proj</c>), no normaliser,
/// <c>S_t = diag(λ_t) S_{t−1} + k_t v_tᵀ</c>. Causal: one scan. On a k-D grid: a forward and a backward scan
/// along each axis (over the lines of that axis), 2k scans summed before the output gate. Same q, k, v,
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
            for (int axis = 0; axis < grid.Length; axis++)
                foreach (bool reverse in new[] { false, true })
                {
                    var part = ScanAlong(q, k, v, g, grid, axis, reverse);
                    sum = sum == null ? part : sum + part;
                }
            o = sum!;
        }
        return Merge(o);
    }

    /// <summary>One directional scan along a grid axis; each line of that axis is an independent sequence.</summary>
    private Variable ScanAlong(Variable q, Variable k, Variable v, Variable g, int[] grid, int axis, bool reverse)
    {
        int B = q.Size(0), H = q.Size(1), r = grid.Length, na = grid[axis];
        // [B, H, n_1..n_k, dim] → [B, others…, H, n_a, dim] → [B·Πothers, H, n_a, dim]
        var others = Enumerable.Range(0, r).Where(a => a != axis).ToArray();
        int[] perm = [0, .. others.Select(a => a + 2), 1, axis + 2, r + 2];
        var inv = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inv[perm[i]] = i;
        Variable Lines(Variable t)
        {
            var grd = t.Reshape([B, H, .. grid, t.Size(3)]).Permute(perm);
            var lines = grd.Reshape(-1, H, na, t.Size(3));
            return reverse ? lines.Flip(2) : lines;
        }
        var o = AttentionOps.Gated(Lines(q), Lines(k), Lines(v), Lines(g), Config.Scale).O;
        if (reverse) o = o.Flip(2);
        int e = v.Size(3);
        var shaped = o.Reshape([B, .. others.Select(a => grid[a]), H, na, e]);
        return shaped.Permute(inv).Reshape(B, H, -1, e);
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
