using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>
/// The transformer baseline mixer: causal multi-head softmax attention with rotary positions (RoPE, GPT-NeoX
/// layout, base 10000) on q and k, <c>o = softmax(α q kᵀ + causal) v</c>, inside the same projections and output
/// gate as <see cref="LightNetAttention"/> (so the parameter count is identical). q is linear (no SiLU: that is a
/// linear-attention feature map). Cost O(T²) per sequence; no recurrent state (generation re-reads the prefix).
/// </summary>
public sealed class SoftmaxAttention : GatedMixer
{
    /// <summary>RoPE frequency base.</summary>
    public const double RopeBase = 10000;

    /// <summary>Creates the projections, weights N(0, 0.02²); throws <see cref="ArgumentException"/> unless the config is causal with an even key head dim.</summary>
    public SoftmaxAttention(AttentionConfig cfg, Generator gen, DType dtype = DType.Float32) : base(cfg, gen, dtype)
    {
        if (!cfg.Causal) throw new ArgumentException("softmax_attention: only the causal form is provided (the masked LM compares LightNet with the GLA baseline)");
        if (cfg.HeadKDim % 2 != 0) throw new ArgumentException($"softmax_attention: rotary positions need an even key head dim, got {cfg.HeadKDim}");
    }

    /// <summary>Rotates x [B, H, T, d] by position: pairs (i, i + d/2) turn by angle t·base^(−2i/d).</summary>
    public static Variable Rope(Variable x)
    {
        int T = x.Size(2), half = x.Size(3) / 2;
        using var angles = MdLrpe.Angles([T], half, 0, RopeBase, dtype: x.DType == DType.Float64 ? DType.Float64 : DType.Float32);
        using var a = angles.To(x.Device);
        var cos = new Variable(a.Cos());
        var sin = new Variable(a.Sin());
        var x1 = x.Narrow(3, 0, half);
        var x2 = x.Narrow(3, half, half);
        return Variable.Concat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], 3);
    }

    /// <summary>Attention output with heads merged, [B, T, H·e] (before the gate).</summary>
    public Variable AttentionOutput(Variable x)
    {
        CheckInput("softmax_attention", x);
        int H = Config.NumHeads;
        var q = Rope(Heads(QProj.Forward(x), H));
        var k = Rope(Heads(KProj.Forward(x), H));
        var v = Heads(VProj.Forward(x), H);
        return Merge(SoftmaxAttentionOps.Causal(q, k, v, Config.Scale));
    }

    /// <summary>Full layer: y [B, T, c].</summary>
    public Variable Forward(Variable x) => Gate(x, AttentionOutput(x));

    /// <inheritdoc/>
    public override (Variable Y, AdditiveState? State) Mix(Variable x, Tensor? mask, Tensor? lrpeAngles, AdditiveState? state)
    {
        if (mask != null) throw new NotSupportedException("softmax_attention: padding masks are not supported; use unpadded windows");
        if (lrpeAngles != null) throw new NotSupportedException("softmax_attention: MD-LRPE is not supported (the baseline uses rotary positions)");
        if (state != null) throw new NotSupportedException("softmax_attention: no recurrent state; run the full prefix");
        return (Forward(x), null);
    }
}
