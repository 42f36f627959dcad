using LightNet.Autograd;

namespace LightNet.Models.Optim;

/// <summary>
/// Exponential moving average of parameters (<c>shadow ← decay·shadow + (1 − decay)·param</c> after each
/// step), as DiT training uses for sampling; <see cref="CopyTo"/> writes the averages into the parameters.
/// </summary>
public sealed class ExponentialMovingAverage : IDisposable
{
    private readonly IReadOnlyList<Variable> _params;
    private readonly Tensor[] _shadow;

    /// <summary>Starts the averages at the parameters' current values; throws <see cref="ArgumentOutOfRangeException"/> unless <paramref name="decay"/> is in [0, 1].</summary>
    public ExponentialMovingAverage(IEnumerable<Variable> parameters, double decay = 0.9999)
    {
        if (decay is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(decay), $"ema: decay must be in [0, 1], got {decay}");
        Decay = decay;
        _params = parameters.ToList();
        _shadow = _params.Select(p => DisposalScope.Detach(p.Data.Clone())).ToArray();
    }

    /// <summary>Weight of the old average in each update.</summary>
    public double Decay { get; }

    /// <summary>The averaged tensors, in parameter order (for checkpoints).</summary>
    public IReadOnlyList<Tensor> Shadow => _shadow;

    /// <summary>Folds the current parameter values into the averages.</summary>
    public void Update()
    {
        for (int i = 0; i < _params.Count; i++)
        {
            using var delta = _params[i].Data - _shadow[i];
            using var scaled = delta * (1 - Decay);
            _shadow[i].Add_(scaled);
        }
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
