using LightNet.Autograd;

namespace LightNet.Models.Optim;

/// <summary>
/// Exponential moving average of parameters, as DiT training uses for sampling: after each step
/// <c>shadow ← d_t·shadow + (1 − d_t)·param</c> with the warmed-up decay
/// <c>d_t = min(d, (1 + t)/(10 + t))</c>, t the number of updates so far (0.1, 0.18, 0.25, … rising towards
/// <see cref="Decay"/>). Without the warm-up the averages of a short run stay at the random initialisation
/// (with d = 0.998 the start still weighs 0.998^100 ≈ 82% after 100 steps); with it the start weighs
/// Π d_s = 9!·t!/(t + 9)! after t updates while the warm-up term is the smaller one (≈ 2·10⁻¹³ after 100). <see cref="CopyTo"/> writes the averages into
/// the parameters. The update count is part of the state: a checkpoint must restore it
/// (<see cref="RestoreUpdates"/>) for a resumed run to match an uninterrupted one bit for bit.
/// </summary>
public sealed class ExponentialMovingAverage : IDisposable
{
    private readonly IReadOnlyList<Variable> _params;
    private readonly Tensor[] _shadow;

    /// <summary>
    /// Starts the averages at the parameters' current values; <paramref name="warmup"/> false uses the constant
    /// decay from the first update. Throws <see cref="ArgumentOutOfRangeException"/> unless <paramref name="decay"/> is in [0, 1].
    /// </summary>
    public ExponentialMovingAverage(IEnumerable<Variable> parameters, double decay = 0.9999, bool warmup = true)
    {
        if (decay is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(decay), $"ema: decay must be in [0, 1], got {decay}");
        Decay = decay;
        Warmup = warmup;
        _params = parameters.ToList();
        _shadow = _params.Select(p => DisposalScope.Detach(p.Data.Clone())).ToArray();
    }

    /// <summary>Largest weight of the old average in an update (the decay once warmed up).</summary>
    public double Decay { get; }

    /// <summary>Whether the decay warms up as <c>min(d, (1 + t)/(10 + t))</c>.</summary>
    public bool Warmup { get; }

    /// <summary>Number of updates folded in so far (t).</summary>
    public long Updates { get; private set; }

    /// <summary>The decay the update after <paramref name="updates"/> earlier ones uses: <c>min(d, (1 + t)/(10 + t))</c> with the warm-up, else d.</summary>
    public double DecayAt(long updates) => Warmup ? Math.Min(Decay, (1.0 + updates) / (10.0 + updates)) : Decay;

    /// <summary>The averaged tensors, in parameter order (for checkpoints).</summary>
    public IReadOnlyList<Tensor> Shadow => _shadow;

    /// <summary>Sets the update count after the averages were restored from a checkpoint; throws on a negative count.</summary>
    public void RestoreUpdates(long updates)
    {
        if (updates < 0) throw new ArgumentOutOfRangeException(nameof(updates), $"ema: update count must be ≥ 0, got {updates}");
        Updates = updates;
    }

    /// <summary>Folds the current parameter values into the averages with the decay <see cref="DecayAt"/>(<see cref="Updates"/>), then counts the update.</summary>
    public void Update()
    {
        double keep = 1 - DecayAt(Updates);
        for (int i = 0; i < _params.Count; i++)
        {
            using var delta = _params[i].Data - _shadow[i];
            using var scaled = delta * keep;
            _shadow[i].Add_(scaled);
        }
        Updates++;
    }

    /// <summary>Writes the averages into the parameters (e.g. before sampling or evaluation).</summary>
    public void CopyTo()
    {
        for (int i = 0; i < _params.Count; i++) _params[i].Data.CopyFrom(_shadow[i]);
    }

    /// <summary>Frees the averaged tensors.</summary>
    public void Dispose()
    {
        foreach (var t in _shadow) t.Dispose();
    }
}
