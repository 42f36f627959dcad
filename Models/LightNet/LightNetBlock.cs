using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>
/// Pre-norm block: <c>h += mixer(RMSNorm(h))</c>, then <c>h += MLP(RMSNorm(h))</c> (names attn_norm, attn,
/// mlp_norm, mlp). The mixer is LightNet attention, or a baseline (<see cref="MixerKind"/>) in the same place.
/// </summary>
public sealed class LightNetBlock : Module
{
    public LightNetBlock(AttentionConfig attn, int intermediate, double normEps, Generator gen, DType dtype = DType.Float32, MixerKind mixer = MixerKind.LightNet)
    {
        AttnNorm = Child("attn_norm", new RmsNorm(attn.HiddenSize, normEps, dtype: dtype));
        Attn = mixer.Create(attn, gen, dtype);
        Child("attn", Attn.Module);
        MlpNorm = Child("mlp_norm", new RmsNorm(attn.HiddenSize, normEps, dtype: dtype));
        Mlp = Child("mlp", new GatedMlp(attn.HiddenSize, intermediate, gen, dtype));
    }

    public RmsNorm AttnNorm { get; }
    public ISequenceMixer Attn { get; }
    public RmsNorm MlpNorm { get; }
    public GatedMlp Mlp { get; }

    /// <summary>Applies the block; with a state (causal decoding) returns the next state too.</summary>
    public (Variable H, AdditiveState? State) Forward(Variable h, Tensor? mask = null, Tensor? lrpeAngles = null, AdditiveState? state = null)
    {
        var (y, next) = Attn.Mix(AttnNorm.Forward(h), mask, lrpeAngles, state);
        h = h + y;
        h = h + Mlp.Forward(MlpNorm.Forward(h));
        return (h, next);
    }
}
