using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>
/// The transformer baseline mixer: multi-head softmax attention with rotary positions (RoPE, GPT-NeoX layout, base
/// 10000) on q and k, inside the same projections and output gate as <see cref="LightNetAttention"/> (so the parameter
/// count is identical). Causal (the causal LM): <c>o = softmax(α q kᵀ + causal) v</c> with 1-D rotary positions.
/// Non-causal (images, video): <c>o = softmax(α q kᵀ) v</c> over all tokens with multi-dimensional rotary positions on
/// the token grid: the pair (i, i + d/2) turns by the MD-LRPE angle Θ(p)[i] of <see cref="MdLrpe.Angles"/> for head dim
/// d/2 (so the first ⌈(d/2)/k⌉ pairs follow the first grid axis, the next the second, …); on a 1-D grid this is the
/// causal form's RoPE. q is linear (no SiLU: that is a linear-attention feature map). Cost O(T²) per sequence; no
/// recurrent state (generation re-reads the prefix).
/// </summary>
public sealed class SoftmaxAttention : GatedMixer
{
    /// <summary>RoPE frequency base.</summary>
    public const double RopeBase = 10000;

    private readonly LrpeAngleCache _angles = new();

    /// <summary>Creates the projections, weights N(0, 0.02²); throws <see cref="ArgumentException"/> unless the key head dim is even.</summary>
    public SoftmaxAttention(AttentionConfig cfg, Generator gen, DType dtype = DType.Float32) : base(cfg, gen, dtype)
    {
        if (cfg.HeadKDim % 2 != 0) throw new ArgumentException($"softmax_attention: rotary positions need an even key head dim, got {cfg.HeadKDim}");
    }

    /// <summary>Rotates x [B, H, T, d] by 1-D position: pairs (i, i + d/2) turn by angle t·base^(−2i/d).</summary>
    public static Variable Rope(Variable x) => Rope(x, [x.Size(2)], null);

    /// <summary>Rotates x [B, H, T, d] by grid position (T = Π grid, row-major): pairs (i, i + d/2) turn by the MD-LRPE angle of feature i for head dim d/2.</summary>
    public static Variable Rope(Variable x, int[] grid) => Rope(x, grid, null);

    private static Variable Rope(Variable x, int[] grid, LrpeAngleCache? cache)
    {
        int T = x.Size(2), half = x.Size(3) / 2;
        if (grid.Aggregate(1L, (a, b) => a * b) != T) throw new ShapeException($"softmax_attention: grid {Shape.Format(grid)} does not hold the {T} tokens of {x.Shape}");
        var dtype = x.DType == DType.Float64 ? DType.Float64 : DType.Float32;
        Tensor a;
        Tensor? owned = null;
        if (cache != null) a = cache.Get(grid, half, RopeBase, dtype, x.Device);
        else
        {
            using var host = MdLrpe.Angles(grid, half, 0, RopeBase, dtype: dtype);
            a = owned = host.To(x.Device);
        }
        try
        {
            var cos = new Variable(a.Cos());
            var sin = new Variable(a.Sin());
            var x1 = x.Narrow(3, 0, half);
            var x2 = x.Narrow(3, half, half);
            return Variable.Concat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], 3);
        }
        finally { owned?.Dispose(); }
    }

    /// <summary>
    /// Attention output with heads merged, [B, T, H·e] (before the gate). Causal: 1-D positions (<paramref name="grid"/>
    /// must be null or [T]); non-causal: full attention with rotary positions on <paramref name="grid"/> (null: [T]).
    /// </summary>
    public Variable AttentionOutput(Variable x, int[]? grid = null)
    {
        CheckInput("softmax_attention", x);
        int H = Config.NumHeads, T = x.Size(1);
        grid ??= [T];
        if (Config.Causal && grid.Length != 1) throw new ArgumentException($"softmax_attention: the causal form takes 1-D positions, got grid {Shape.Format(grid)}");
        var q = Rope(Heads(QProj.Forward(x), H), grid, _angles);
        var k = Rope(Heads(KProj.Forward(x), H), grid, _angles);
        var v = Heads(VProj.Forward(x), H);
        return Merge(Config.Causal ? SoftmaxAttentionOps.Causal(q, k, v, Config.Scale) : SoftmaxAttentionOps.Full(q, k, v, Config.Scale));
    }

    /// <summary>Full layer: y [B, T, c] (see <see cref="AttentionOutput"/> for <paramref name="grid"/>).</summary>
    public Variable Forward(Variable x, int[]? grid = null) => Gate(x, AttentionOutput(x, grid));

    /// <inheritdoc/>
    public override (Variable Y, AdditiveState? State) Mix(Variable x, Tensor? mask, Tensor? lrpeAngles, AdditiveState? state)
    {
        if (mask != null) throw new NotSupportedException("softmax_attention: padding masks are not supported; use unpadded windows");
        if (lrpeAngles != null) throw new NotSupportedException("softmax_attention: MD-LRPE is not supported (the baseline uses rotary positions)");
        if (state != null) throw new NotSupportedException("softmax_attention: no recurrent state; run the full prefix");
        return (Forward(x), null);
    }
}
