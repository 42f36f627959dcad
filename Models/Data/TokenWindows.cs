namespace LightNet.Models.Data;

/// <summary>
/// Fixed-length windows of a token stream for language-model training and evaluation. Training batches
/// draw window starts from the counter-based <see cref="Generator"/> (row <c>b</c> of step <c>s</c> uses
/// counter <c>s·2³² + b</c> under key <c>seed</c>), so a batch depends only on (seed, step).
/// </summary>
public sealed class TokenWindows
{
    private readonly int[] _tokens;

    /// <summary>Windows of <paramref name="length"/> ids over <paramref name="tokens"/> (not copied).</summary>
    public TokenWindows(int[] tokens, int length)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (tokens.Length < length)
            throw new ArgumentException($"token windows: the stream has {tokens.Length} tokens, fewer than one window of {length}");
        _tokens = tokens;
        Length = length;
    }

    /// <summary>Ids per window.</summary>
    public int Length { get; }
    /// <summary>Tokens in the stream.</summary>
    public int TokenCount => _tokens.Length;
    /// <summary>Number of non-overlapping windows (used by <see cref="Sequential"/>).</summary>
    public int SequentialCount => _tokens.Length / Length;

    /// <summary>Int64 <c>[batch, Length]</c> of windows at random starts for training step <paramref name="step"/>.</summary>
    public Tensor RandomBatch(int batch, ulong seed, long step, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        var ids = new long[batch * Length];
        ulong starts = (ulong)(_tokens.Length - Length + 1);
        for (int b = 0; b < batch; b++)
        {
            var (hi, lo, _, _) = Generator.Philox(((ulong)step << 32) + (ulong)b, seed);
            int start = (int)(((ulong)hi << 32 | lo) % starts);
            for (int t = 0; t < Length; t++) ids[b * Length + t] = _tokens[start + t];
        }
        return Tensor.FromArray(ids, [batch, Length], device);
    }

    /// <summary>
    /// Int64 <c>[n, Length]</c> of the non-overlapping windows <c>first … first + n − 1</c> (window <c>i</c>
    /// starts at <c>i·Length</c>), <c>n</c> at most <paramref name="batch"/>: for evaluation over the whole stream.
    /// </summary>
    public Tensor Sequential(int first, int batch, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (first < 0 || first >= SequentialCount) throw new ArgumentOutOfRangeException(nameof(first), $"token windows: window {first} is not in [0, {SequentialCount})");
        int n = Math.Min(batch, SequentialCount - first);
        var ids = new long[n * Length];
        for (int i = 0; i < ids.Length; i++) ids[i] = _tokens[first * Length + i];
        return Tensor.FromArray(ids, [n, Length], device);
    }
}
