namespace LightNet.Models.Training;

/// <summary>
/// Epoch-wise shuffled mini-batches whose indices depend only on (seed, epoch, step): a run resumed at any
/// step sees exactly the batches an uninterrupted run sees. The last partial batch of an epoch is dropped.
/// </summary>
public sealed class EpochSampler
{
    private int[]? _perm;
    private long _permEpoch = -1;

    /// <summary>Batches of <paramref name="batchSize"/> indices into <paramref name="count"/> items; throws <see cref="ArgumentOutOfRangeException"/> unless 1 ≤ batchSize ≤ count.</summary>
    public EpochSampler(int count, int batchSize, ulong seed)
    {
        if (batchSize <= 0 || batchSize > count) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} must be in 1..{count}");
        Count = count; BatchSize = batchSize; Seed = seed;
    }

    /// <summary>Items in the data set.</summary>
    public int Count { get; }
    /// <summary>Indices per batch.</summary>
    public int BatchSize { get; }
    /// <summary>Seed of the per-epoch permutations.</summary>
    public ulong Seed { get; }
    /// <summary>Full batches per epoch.</summary>
    public long BatchesPerEpoch => Count / BatchSize;

    /// <summary>The permutation of [0, n) for an epoch (Fisher–Yates driven by the counter-based generator).</summary>
    public static int[] Permutation(int n, ulong seed, long epoch)
    {
        var p = Enumerable.Range(0, n).ToArray();
        ulong key = seed * 0x9E3779B97F4A7C15UL + (ulong)epoch;
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)(Generator.Uniform(key, (ulong)i) * (i + 1));
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    /// <summary>Indices of global batch number <paramref name="step"/>.</summary>
    public int[] ForStep(long step)
    {
        long epoch = step / BatchesPerEpoch, within = step % BatchesPerEpoch;
        if (epoch != _permEpoch) { _perm = Permutation(Count, Seed, epoch); _permEpoch = epoch; }
        return _perm!.AsSpan((int)(within * BatchSize), BatchSize).ToArray();
    }
}
