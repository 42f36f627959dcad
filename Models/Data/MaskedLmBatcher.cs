namespace LightNet.Models.Data;

/// <summary>A masked-LM batch: all three tensors int64 <c>[B, T]</c> on the host.</summary>
/// <param name="InputIds">Ids after masking.</param>
/// <param name="Labels">The original id where the loss applies (selected positions), <see cref="MaskedLmBatcher.IgnoreIndex"/> elsewhere.</param>
/// <param name="AttentionMask">1 for real tokens, 0 for padding.</param>
public sealed record MaskedLmBatch(Tensor InputIds, Tensor Labels, Tensor AttentionMask) : IDisposable
{
    /// <summary>Disposes the three tensors.</summary>
    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
        AttentionMask.Dispose();
    }
}

/// <summary>
/// BERT masking. Each ordinary token (id below <see cref="ITextTokenizer.TextIdCount"/>; pads and other
/// specials are never chosen) is selected with probability <see cref="SelectProbability"/> (15%); a selected
/// token becomes <c>[MASK]</c> with probability 80%, a uniformly random ordinary id with 10%, and stays
/// unchanged with 10%; its label is the original id, every other label is −100. The draws come from the
/// counter-based <see cref="Generator"/>: position <c>p = b·T + t</c> of step <c>s</c> uses Philox counter
/// <c>s·2³² + p</c> under key <c>seed</c>, so a batch depends only on (seed, step, input).
/// </summary>
public sealed class MaskedLmBatcher
{
    /// <summary>Label of positions without loss.</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Creates a batcher for <paramref name="tokenizer"/>'s ids.</summary>
    public MaskedLmBatcher(ITextTokenizer tokenizer, ulong seed, double selectProbability = 0.15, double maskFraction = 0.8, double randomFraction = 0.1)
        : this(tokenizer?.TextIdCount ?? throw new ArgumentNullException(nameof(tokenizer)), tokenizer.MaskId, tokenizer.PadId, seed, selectProbability, maskFraction, randomFraction)
    {
    }

    /// <summary>Creates a batcher from explicit ids: ordinary ids are <c>[0, textIdCount)</c>.</summary>
    public MaskedLmBatcher(int textIdCount, int maskId, int padId, ulong seed, double selectProbability = 0.15, double maskFraction = 0.8, double randomFraction = 0.1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(textIdCount);
        if (selectProbability is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(selectProbability));
        if (maskFraction < 0 || randomFraction < 0 || maskFraction + randomFraction > 1)
            throw new ArgumentException("masking: mask and random fractions must be ≥ 0 and sum to at most 1");
        TextIdCount = textIdCount;
        MaskId = maskId;
        PadId = padId;
        Seed = seed;
        SelectProbability = selectProbability;
        MaskFraction = maskFraction;
        RandomFraction = randomFraction;
    }

    /// <summary>Ordinary ids are below this.</summary>
    public int TextIdCount { get; }
    /// <summary>The <c>[MASK]</c> id.</summary>
    public int MaskId { get; }
    /// <summary>The padding id.</summary>
    public int PadId { get; }
    /// <summary>Key of the random stream.</summary>
    public ulong Seed { get; }
    /// <summary>Chance that an ordinary token is selected for the loss.</summary>
    public double SelectProbability { get; }
    /// <summary>Share of selected tokens replaced by <c>[MASK]</c>.</summary>
    public double MaskFraction { get; }
    /// <summary>Share of selected tokens replaced by a random ordinary id.</summary>
    public double RandomFraction { get; }

    /// <summary>Masks ids int64 <c>[B, T]</c> (any device) for training step <paramref name="step"/>.</summary>
    public MaskedLmBatch Mask(Tensor inputIds, long step)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.Rank != 2 || inputIds.DType != DType.Int64)
            throw new ShapeException($"masking: input ids must be int64 [B, T], got {inputIds.DType.Name()} {inputIds.Shape}");
        return Mask(inputIds.ToArray<long>(), inputIds.Size(0), inputIds.Size(1), step);
    }

    /// <summary>Masks token sequences for step <paramref name="step"/>: each is cut or padded (with <see cref="PadId"/>) to <paramref name="length"/>.</summary>
    public MaskedLmBatch Mask(IReadOnlyList<int[]> sequences, int length, long step)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        var ids = new long[sequences.Count * length];
        Array.Fill(ids, PadId);
        for (int b = 0; b < sequences.Count; b++)
        {
            var s = sequences[b];
            for (int t = 0; t < Math.Min(length, s.Length); t++) ids[b * length + t] = s[t];
        }
        return Mask(ids, sequences.Count, length, step);
    }

    /// <summary>Masks row-major ids <c>[batch, length]</c> for step <paramref name="step"/>.</summary>
    public MaskedLmBatch Mask(long[] ids, int batch, int length, long step)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Length != (long)batch * length) throw new ArgumentException($"masking: {ids.Length} ids do not fill [{batch}, {length}]");
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (ids.LongLength > uint.MaxValue) throw new ArgumentException("masking: a batch may hold at most 2^32 tokens");
        var input = new long[ids.Length];
        var labels = new long[ids.Length];
        var attn = new long[ids.Length];
        ulong baseCounter = (ulong)step << 32;
        for (int p = 0; p < ids.Length; p++)
        {
            long id = ids[p];
            input[p] = id;
            labels[p] = IgnoreIndex;
            attn[p] = id == PadId ? 0 : 1;
            if (id < 0 || id >= TextIdCount) continue;
            var (a, b, c, d) = Generator.Philox(baseCounter + (ulong)p, Seed);
            if (Generator.ToUnitInterval(a, b) > SelectProbability) continue;
            labels[p] = id;
            double r = c * (1.0 / 4294967296.0);
            if (r < MaskFraction) input[p] = MaskId;
            else if (r < MaskFraction + RandomFraction) input[p] = (long)((ulong)d * (ulong)TextIdCount >> 32);
        }
        Shape shape = [batch, length];
        return new MaskedLmBatch(Tensor.FromArray(input, shape), Tensor.FromArray(labels, shape), Tensor.FromArray(attn, shape));
    }
}
