using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>
/// Pre-norm block: <c>h += mixer(RMSNorm(h))</c>, then <c>h += MLP(RMSNorm(h))</c> (names attn_norm, attn,
/// mlp_norm, mlp). The mixer is LightNet attention, or a baseline (<see cref="MixerKind"/>) in the same place.
/// </summary>
public sealed class LightNetBlock : Module
{
    /// <summary>Creates the block for <paramref name="attn"/>'s width: a <paramref name="mixer"/> token mixer, an MLP of width <paramref name="intermediate"/> and two RMSNorms with eps <paramref name="normEps"/>.</summary>
    public LightNetBlock(AttentionConfig attn, int intermediate, double normEps, Generator gen, DType dtype = DType.Float32, MixerKind mixer = MixerKind.LightNet)
    {
        AttnNorm = Child("attn_norm", new RmsNorm(attn.HiddenSize, normEps, dtype: dtype));
        Attn = mixer.Create(attn, gen, dtype);
        Child("attn", Attn.Module);
        MlpNorm = Child("mlp_norm", new RmsNorm(attn.HiddenSize, normEps, dtype: dtype));
        Mlp = Child("mlp", new GatedMlp(attn.HiddenSize, intermediate, gen, dtype));
    }

    /// <summary>Pre-norm of the mixer (<c>attn_norm</c>).</summary>
    public RmsNorm AttnNorm { get; }
    /// <summary>Token mixer (<c>attn</c>).</summary>
    public ISequenceMixer Attn { get; }
    /// <summary>Pre-norm of the MLP (<c>mlp_norm</c>).</summary>
    public RmsNorm MlpNorm { get; }
    /// <summary>SwiGLU MLP (<c>mlp</c>).</summary>
    public GatedMlp Mlp { get; }

    /// <summary>Applies the block; with a state (causal decoding) returns the next state too.</summary>
    public (Variable H, AdditiveState? State) Forward(Variable h, Tensor? mask = null, Tensor? lrpeAngles = null, AdditiveState? state = null)
    {
        var (y, next) = Attn.Mix(AttnNorm.Forward(h), mask, lrpeAngles, state);
        h = h + y;
        h = h + Mlp.Forward(MlpNorm.Forward(h));
        return (h, next);
    }

    /// <summary>
    /// Applies the block to the tokens of a k-D grid (row-major, T = Π <paramref name="grid"/>): the mixer runs in its
    /// grid form (<see cref="GridMixing.MixGrid"/>): LightNet's one scan with the MD-LRPE <paramref name="lrpeAngles"/>,
    /// the GLA baseline's 2k directional scans, or full softmax attention with k-D rotary positions.
    /// </summary>
    public Variable ForwardGrid(Variable h, int[] grid, Tensor? lrpeAngles = null)
    {
        h = h + Attn.MixGrid(AttnNorm.Forward(h), grid, lrpeAngles);
        return h + Mlp.Forward(MlpNorm.Forward(h));
    }
}
