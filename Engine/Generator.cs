namespace LightNet;

/// <summary>
/// Counter-based random generator (Philox4x32-10): element i of a draw depends only on
/// (seed, offset + i), so draws are reproducible, parallel and resumable from (seed, offset).
/// </summary>
public sealed class Generator
{
    /// <summary>Creates a generator.</summary>
    public Generator(ulong seed, ulong offset = 0) { Seed = seed; Offset = offset; }

    /// <summary>Key of the stream.</summary>
    public ulong Seed { get; }
    /// <summary>Counter position: the number of values drawn so far.</summary>
    public ulong Offset { get; set; }

    /// <summary>Shared generator used when none is given (seed 0).</summary>
    public static Generator Default { get; } = new(0);

    /// <summary>Reserves <paramref name="n"/> counters and returns the first.</summary>
    public ulong Advance(long n)
    {
        var o = Offset;
        Offset += (ulong)n;
        return o;
    }

    /// <summary>Philox4x32-10 block for counter <paramref name="ctr"/> and key <paramref name="key"/>.</summary>
    public static (uint, uint, uint, uint) Philox(ulong ctr, ulong key)
    {
        uint c0 = (uint)ctr, c1 = (uint)(ctr >> 32), c2 = 0, c3 = 0;
        uint k0 = (uint)key, k1 = (uint)(key >> 32);
        for (int r = 0; r < 10; r++)
        {
            ulong p0 = 0xD2511F53UL * c0, p1 = 0xCD9E8D57UL * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0, n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            c1 = (uint)p1; c3 = (uint)p0; c0 = n0; c2 = n2;
            k0 += 0x9E3779B9; k1 += 0xBB67AE85;
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>Uniform double in (0, 1] from 53 random bits.</summary>
    public static double ToUnitInterval(uint hi, uint lo) => (((ulong)hi << 21 ^ lo) & ((1UL << 53) - 1)) * (1.0 / (1UL << 53)) + 1.0 / (1UL << 54);

    /// <summary>Standard normal value number <paramref name="i"/> of the stream (Box–Muller).</summary>
    public static double Normal(ulong seed, ulong i)
    {
        var (a, b, c, d) = Philox(i, seed);
        double u1 = ToUnitInterval(a, b), u2 = ToUnitInterval(c, d);
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Uniform value in [0, 1) number <paramref name="i"/> of the stream.</summary>
    public static double Uniform(ulong seed, ulong i)
    {
        var (a, b, _, _) = Philox(i, seed);
        return (((ulong)a << 21 ^ b) & ((1UL << 53) - 1)) * (1.0 / (1UL << 53));
    }
}
