using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>Sizes and options of one LightNet attention layer (fla's names).</summary>
public sealed record AttentionConfig(int HiddenSize, int NumHeads, int HeadKDim, int GateLowRankDim, double Scale, bool Causal)
{
    /// <summary>Value head dim e = c / H.</summary>
    public int HeadVDim => HiddenSize / NumHeads;

    /// <summary>Taps of fla's short causal convolution of q, k and v (<c>use_short_conv</c> with <c>conv_size</c>); 0 = none. Causal LightNet attention only.</summary>
    public int ConvSize { get; init; }

    /// <summary>fla's sizing: give expand_ratio (key head dim) or num_heads; the other follows from the hidden size.</summary>
    public static AttentionConfig FromFla(int hiddenSize, int? numHeads, int? expandRatio, int gateLowRankDim, bool causal, double? scale = null)
    {
        if (expandRatio is null && numHeads is null) throw new ArgumentException("attention config: one of expand_ratio or num_heads must be given");
        int h = numHeads ?? hiddenSize / expandRatio!.Value;
        int d = expandRatio ?? hiddenSize / h;
        if (h <= 0 || hiddenSize % h != 0) throw new ArgumentException($"attention config: hidden_size {hiddenSize} is not divisible by num_heads {h}");
        return new AttentionConfig(hiddenSize, h, d, gateLowRankDim, scale ?? 1 / Math.Sqrt(d), causal);
    }
}

/// <summary>
/// LightNet attention (SPEC §4, fla's LightNetAttention): q = SiLU(x W_qᵀ), k, v projections, additive
/// attention (causal or not; optional MD-LRPE feature map), output gate
/// <c>(RMSNorm_c(o) ⊙ w ⊙ SiLU(g_proj(x))) W_oᵀ</c> with g_norm eps fixed at 1e-6. With
/// <see cref="AttentionConfig.ConvSize"/> &gt; 0 (fla's <c>use_short_conv</c>) the projected q, k and v first pass
/// through causal depthwise convolutions (<c>q_conv1d</c>, <c>k_conv1d</c>, <c>v_conv1d</c>; q before its SiLU).
/// </summary>
public sealed class LightNetAttention : GatedMixer
{
    /// <summary>fla hard-codes this eps for the output norm.</summary>
    public const double GateNormEps = 1e-6;

    /// <summary>Creates the projections for <paramref name="cfg"/>, weights N(0, 0.02²) from <paramref name="gen"/>.</summary>
    public LightNetAttention(AttentionConfig cfg, Generator gen, DType dtype = DType.Float32) : base(cfg, gen, dtype)
    {
        if (cfg.ConvSize < 0) throw new ArgumentOutOfRangeException(nameof(cfg), $"lightnet_attention: conv_size must be ≥ 0, got {cfg.ConvSize}");
        if (cfg.ConvSize == 0) return;
        if (!cfg.Causal) throw new ArgumentException("lightnet_attention: the short convolution (use_short_conv) is causal; the layer is not");
        int kd = cfg.NumHeads * cfg.HeadKDim;
        QConv = Child("q_conv1d", new ShortConvolution(kd, cfg.ConvSize, gen, dtype: dtype));
        KConv = Child("k_conv1d", new ShortConvolution(kd, cfg.ConvSize, gen, dtype: dtype));
        VConv = Child("v_conv1d", new ShortConvolution(cfg.HiddenSize, cfg.ConvSize, gen, dtype: dtype));
    }

    /// <summary>fla's short convolution of the projected queries (<c>q_conv1d</c>, before the SiLU), or null.</summary>
    public ShortConvolution? QConv { get; }
    /// <summary>Short convolution of the projected keys (<c>k_conv1d</c>), or null.</summary>
    public ShortConvolution? KConv { get; }
    /// <summary>Short convolution of the projected values (<c>v_conv1d</c>), or null.</summary>
    public ShortConvolution? VConv { get; }

    /// <summary>The additive attention output with heads merged, [B, T, H·e] (before the gate).</summary>
    public Variable AttentionOutput(Variable x, Tensor? mask = null, Tensor? lrpeAngles = null, AdditiveState? state = null) =>
        AttentionOutputWithState(x, mask, lrpeAngles, state).O;

    /// <summary>As <see cref="AttentionOutput"/>, also returning the recurrent state after the last token (causal only).</summary>
    public (Variable O, AdditiveState? State) AttentionOutputWithState(Variable x, Tensor? mask = null, Tensor? lrpeAngles = null, AdditiveState? state = null)
    {
        CheckInput("lightnet_attention", x);
        int H = Config.NumHeads;
        Variable qx = QProj.Forward(x), kx = KProj.Forward(x), vx = VProj.Forward(x);
        if (QConv != null)
        {
            if (state != null)
                throw new NotSupportedException("lightnet_attention: decoding from a state is not available with use_short_conv (the convolution's window is not carried); run the full sequence");
            qx = QConv.Forward(qx, mask);
            kx = KConv!.Forward(kx, mask);
            vx = VConv!.Forward(vx, mask);
        }
        var q = Heads(qx.Silu(), H);
        var k = Heads(kx, H);
        var v = Heads(vx, H);
        Variable o;
        AdditiveState? next = null;
        if (Config.Causal)
            (o, next) = AttentionOps.AdditiveCausalWithState(q, k, v, Config.Scale, mask, state, lrpeAngles: lrpeAngles);
        else
        {
            if (state != null) throw new InvalidOperationException("lightnet_attention: a recurrent state needs a causal layer");
            o = AttentionOps.AdditiveNonCausal(q, k, v, Config.Scale, mask, lrpeAngles);
        }
        return (Merge(o), next);
    }

    /// <inheritdoc/>
    public override (Variable Y, AdditiveState? State) Mix(Variable x, Tensor? mask, Tensor? lrpeAngles, AdditiveState? state)
    {
        var (o, next) = AttentionOutputWithState(x, mask, lrpeAngles, state);
        return (Gate(x, o), next);
    }

    /// <summary>Full layer: y [B, T, c].</summary>
    public Variable Forward(Variable x, Tensor? mask = null, Tensor? lrpeAngles = null) => Gate(x, AttentionOutput(x, mask, lrpeAngles));
}
