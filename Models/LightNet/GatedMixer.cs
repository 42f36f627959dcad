using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>
/// What LightNet attention and its baselines share (fla names): <c>q_proj [H·d, c]</c>, <c>k_proj [H·d, c]</c>,
/// <c>v_proj</c>, the low-rank gate <c>g_proj.0/1</c>, <c>g_norm</c> (eps 1e-6) and <c>o_proj</c>; output
/// <c>(RMSNorm_c(o) ⊙ w ⊙ SiLU(g_proj(x))) W_oᵀ</c>. Subclasses differ only in how o is mixed over tokens.
/// </summary>
public abstract class GatedMixer : Module, ISequenceMixer
{
    /// <summary>Creates the shared projections (in fla's registration order).</summary>
    protected GatedMixer(AttentionConfig cfg, Generator gen, DType dtype)
    {
        Config = cfg;
        int c = cfg.HiddenSize, kd = cfg.NumHeads * cfg.HeadKDim;
        QProj = Child("q_proj", new Linear(c, kd, false, gen, dtype: dtype));
        KProj = Child("k_proj", new Linear(c, kd, false, gen, dtype: dtype));
        VProj = Child("v_proj", new Linear(c, c, false, gen, dtype: dtype));
        G0 = Child("g_proj.0", new Linear(c, cfg.GateLowRankDim, false, gen, dtype: dtype));
        G1 = Child("g_proj.1", new Linear(cfg.GateLowRankDim, c, false, gen, dtype: dtype));
        GNorm = Child("g_norm", new RmsNorm(c, LightNetAttention.GateNormEps, dtype: dtype));
        OProj = Child("o_proj", new Linear(c, c, false, gen, dtype: dtype));
    }

    /// <summary>Sizes and options of this layer.</summary>
    public AttentionConfig Config { get; }
    /// <summary>Query projection c → H·d (<c>q_proj</c>).</summary>
    public Linear QProj { get; }
    /// <summary>Key projection c → H·d (<c>k_proj</c>).</summary>
    public Linear KProj { get; }
    /// <summary>Value projection c → c (<c>v_proj</c>).</summary>
    public Linear VProj { get; }
    /// <summary>First factor of the low-rank output gate, c → r (<c>g_proj.0</c>).</summary>
    public Linear G0 { get; }
    /// <summary>Second factor of the output gate, r → c (<c>g_proj.1</c>).</summary>
    public Linear G1 { get; }
    /// <summary>RMSNorm of the mixed output before gating (<c>g_norm</c>).</summary>
    public RmsNorm GNorm { get; }
    /// <summary>Output projection c → c (<c>o_proj</c>).</summary>
    public Linear OProj { get; }

    /// <inheritdoc/>
    public Module Module => this;

    /// <summary>[B, T, H·dim] → [B, H, T, dim].</summary>
    protected static Variable Heads(Variable x, int h) => x.Reshape(x.Size(0), x.Size(1), h, -1).Permute(0, 2, 1, 3);

    /// <summary>[B, H, T, e] → [B, T, H·e].</summary>
    protected Variable Merge(Variable o) => o.Permute(0, 2, 1, 3).Reshape(o.Size(0), o.Size(2), Config.HiddenSize);

    /// <summary>Throws unless x is [B, T, c].</summary>
    protected void CheckInput(string op, Variable x)
    {
        if (x.Rank != 3 || x.Size(2) != Config.HiddenSize)
            throw new ShapeException($"{op}: input {x.Shape} must be [B, T, {Config.HiddenSize}]");
    }

    /// <summary>Gate and output projection applied to the merged mixer output: <c>g_norm(o) ⊙ SiLU(g_proj(x))</c> in one fused pass, then <c>o_proj</c>.</summary>
    public Variable Gate(Variable x, Variable o) =>
        OProj.Forward(Variable.RmsNormGate(o, GNorm.Weight!, G1.Forward(G0.Forward(x)), GNorm.Eps));

    /// <inheritdoc/>
    public abstract (Variable Y, AdditiveState? State) Mix(Variable x, Tensor? mask, Tensor? lrpeAngles, AdditiveState? state);
}
