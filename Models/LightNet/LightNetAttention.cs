using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>Sizes and options of one LightNet attention layer (fla's names).</summary>
public sealed record AttentionConfig(int HiddenSize, int NumHeads, int HeadKDim, int GateLowRankDim, double Scale, bool Causal)
{
    /// <summary>Value head dim e = c / H.</summary>
    public int HeadVDim => HiddenSize / NumHeads;

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
/// <c>(RMSNorm_c(o) ⊙ w ⊙ SiLU(g_proj(x))) W_oᵀ</c> with g_norm eps fixed at 1e-6.
/// </summary>
public sealed class LightNetAttention : Module
{
    /// <summary>fla hard-codes this eps for the output norm.</summary>
    public const double GateNormEps = 1e-6;

    public LightNetAttention(AttentionConfig cfg, Generator gen, DType dtype = DType.Float32)
    {
        Config = cfg;
        int c = cfg.HiddenSize, kd = cfg.NumHeads * cfg.HeadKDim;
        QProj = Child("q_proj", new Linear(c, kd, false, gen, dtype: dtype));
        KProj = Child("k_proj", new Linear(c, kd, false, gen, dtype: dtype));
        VProj = Child("v_proj", new Linear(c, c, false, gen, dtype: dtype));
        G0 = Child("g_proj.0", new Linear(c, cfg.GateLowRankDim, false, gen, dtype: dtype));
        G1 = Child("g_proj.1", new Linear(cfg.GateLowRankDim, c, false, gen, dtype: dtype));
        GNorm = Child("g_norm", new RmsNorm(c, GateNormEps, dtype: dtype));
        OProj = Child("o_proj", new Linear(c, c, false, gen, dtype: dtype));
    }

    public AttentionConfig Config { get; }
    public Linear QProj { get; }
    public Linear KProj { get; }
    public Linear VProj { get; }
    public Linear G0 { get; }
    public Linear G1 { get; }
    public RmsNorm GNorm { get; }
    public Linear OProj { get; }

    /// <summary>[B, T, H·dim] → [B, H, T, dim].</summary>
    private static Variable Heads(Variable x, int h) => x.Reshape(x.Size(0), x.Size(1), h, -1).Permute(0, 2, 1, 3);

    /// <summary>The additive attention output with heads merged, [B, T, H·e] (before the gate).</summary>
    public Variable AttentionOutput(Variable x, Tensor? mask = null, Tensor? lrpeAngles = null, AdditiveState? state = null) =>
        AttentionOutputWithState(x, mask, lrpeAngles, state).O;

    /// <summary>As <see cref="AttentionOutput"/>, also returning the recurrent state after the last token (causal only).</summary>
    public (Variable O, AdditiveState? State) AttentionOutputWithState(Variable x, Tensor? mask = null, Tensor? lrpeAngles = null, AdditiveState? state = null)
    {
        if (x.Rank != 3 || x.Size(2) != Config.HiddenSize)
            throw new ShapeException($"lightnet_attention: input {x.Shape} must be [B, T, {Config.HiddenSize}]");
        int B = x.Size(0), T = x.Size(1), H = Config.NumHeads;
        var q = Heads(QProj.Forward(x).Silu(), H);
        var k = Heads(KProj.Forward(x), H);
        var v = Heads(VProj.Forward(x), H);
        Variable o;
        AdditiveState? next = null;
        if (Config.Causal)
            (o, next) = AttentionOps.AdditiveCausalWithState(q, k, v, Config.Scale, mask, state, lrpeAngles: lrpeAngles);
        else
        {
            if (state != null) throw new InvalidOperationException("lightnet_attention: a recurrent state needs a causal layer");
            o = AttentionOps.AdditiveNonCausal(q, k, v, Config.Scale, mask, lrpeAngles);
        }
        return (o.Permute(0, 2, 1, 3).Reshape(B, T, Config.HiddenSize), next);
    }

    /// <summary>Gate and output projection applied to the merged attention output.</summary>
    public Variable Gate(Variable x, Variable o) => OProj.Forward(GNorm.Forward(o) * G1.Forward(G0.Forward(x)).Silu());

    /// <summary>Full layer: y [B, T, c].</summary>
    public Variable Forward(Variable x, Tensor? mask = null, Tensor? lrpeAngles = null) => Gate(x, AttentionOutput(x, mask, lrpeAngles));
}
