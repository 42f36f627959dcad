using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>Pre-norm block: <c>h += LNA(RMSNorm(h))</c>, then <c>h += MLP(RMSNorm(h))</c> (names attn_norm, attn, mlp_norm, mlp).</summary>
public sealed class LightNetBlock : Module
{
    public LightNetBlock(AttentionConfig attn, int intermediate, double normEps, Generator gen, DType dtype = DType.Float32)
    {
        AttnNorm = Child("attn_norm", new RmsNorm(attn.HiddenSize, normEps, dtype: dtype));
        Attn = Child("attn", new LightNetAttention(attn, gen, dtype));
        MlpNorm = Child("mlp_norm", new RmsNorm(attn.HiddenSize, normEps, dtype: dtype));
        Mlp = Child("mlp", new GatedMlp(attn.HiddenSize, intermediate, gen, dtype));
    }

    public RmsNorm AttnNorm { get; }
    public LightNetAttention Attn { get; }
    public RmsNorm MlpNorm { get; }
    public GatedMlp Mlp { get; }

    /// <summary>Applies the block; with a state (causal decoding) returns the next state too.</summary>
    public (Variable H, AdditiveState? State) Forward(Variable h, Tensor? mask = null, Tensor? lrpeAngles = null, AdditiveState? state = null)
    {
        var x = AttnNorm.Forward(h);
        var (o, next) = Attn.AttentionOutputWithState(x, mask, lrpeAngles, state);
        h = h + Attn.Gate(x, o);
        h = h + Mlp.Forward(MlpNorm.Forward(h));
        return (h, next);
    }
}
