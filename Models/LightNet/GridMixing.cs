using LightNet.Autograd;

namespace LightNet.Models.LightNet;

/// <summary>The mixers on a k-D token grid (images: k = 2, video: k = 3), as the bidirectional image and video models run them.</summary>
public static class GridMixing
{
    /// <summary>
    /// Mixer output [B, T, c] for x [B, T, c] whose tokens lie row-major on <paramref name="grid"/> (T = Π grid):
    /// LightNet attention is order-independent (one non-causal scan) and takes its positions from the MD-LRPE
    /// <paramref name="lrpeAngles"/>; the GLA baseline (<see cref="MultiplicativeDecayAttention"/>) scans forward and
    /// backward along each grid axis (2k scans) and softmax attention (<see cref="SoftmaxAttention"/>) uses k-D rotary
    /// positions; both baselines carry positions themselves and refuse MD-LRPE angles.
    /// </summary>
    public static Variable MixGrid(this ISequenceMixer mixer, Variable x, int[] grid, Tensor? lrpeAngles)
    {
        ArgumentNullException.ThrowIfNull(grid);
        if (x.Rank != 3 || grid.Aggregate(1L, (a, b) => a * b) != x.Size(1))
            throw new ShapeException($"grid_mixer: grid {Shape.Format(grid)} does not hold the tokens of x {x.Shape}");
        switch (mixer)
        {
            case MultiplicativeDecayAttention gla:
                if (lrpeAngles != null) throw new NotSupportedException("multiplicative_decay_attention: MD-LRPE is not supported (turn lrpe off for the GLA baseline)");
                return gla.Forward(x, grid);
            case SoftmaxAttention softmax:
                if (lrpeAngles != null) throw new NotSupportedException("softmax_attention: MD-LRPE is not supported (the baseline uses rotary positions)");
                return softmax.Forward(x, grid);
            default:
                return mixer.Mix(x, null, lrpeAngles, null).Y;
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> when MD-LRPE is on with a baseline mixer (it is LightNet's encoding; the baselines carry positions in their decay or rotary angles).</summary>
    public static void CheckEncodings(string model, MixerKind mixer, bool lrpe)
    {
        if (lrpe && mixer != MixerKind.LightNet)
            throw new ArgumentException($"{model}: lrpe needs the lightnet mixer (the {mixer.Name()} baseline carries positions in its {(mixer == MixerKind.Gla ? "directional decay" : "rotary angles")}); set lrpe false");
    }
}
