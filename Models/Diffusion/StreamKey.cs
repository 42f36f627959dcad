namespace LightNet.Models.Diffusion;

/// <summary>Keys of independent counter-based random streams derived from a seed and a few integers (SplitMix64 finaliser).</summary>
public static class StreamKey
{
    /// <summary>A key that depends on (seed, a, b) only; different purposes use different <paramref name="b"/>.</summary>
    public static ulong Of(ulong seed, ulong a, ulong b)
    {
        ulong z = seed;
        z = Mix(z ^ Mix(a + 0x9E3779B97F4A7C15UL));
        return Mix(z ^ Mix(b + 0xD1B54A32D192ED03UL));
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
