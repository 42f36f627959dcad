using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>The token mixer inside a block: maps normalised hidden states [B, T, c] to the block's residual update.</summary>
public interface ISequenceMixer
{
    /// <summary>The module (its parameters sit under the block's <c>attn.</c>).</summary>
    Module Module { get; }

    /// <summary>
    /// Mixer output [B, T, c] for x [B, T, c]; <paramref name="mask"/> a padding mask [B, T],
    /// <paramref name="lrpeAngles"/> MD-LRPE angles for q and k, <paramref name="state"/> a recurrent decoding state.
    /// A mixer that does not support one of them throws naming it. Returns the next state when it carries one.
    /// </summary>
    (Variable Y, AdditiveState? State) Mix(Variable x, Tensor? mask, Tensor? lrpeAngles, AdditiveState? state);
}
