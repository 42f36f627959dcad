namespace LightNet;

/// <summary>
/// What a backend's fused causal attention forward keeps for its backward, so that the backward does not compute it again
/// (the CUDA backend: k̄, the in-chunk log-decays, the chunk flags and the state at every chunk boundary), and the
/// inputs as the kernels read them when the forward had to convert them (bfloat16 q, k, v in float32). Backends that
/// keep nothing leave it empty and recompute; disposing it frees the tensors and the backward then recomputes.
/// What is kept depends on the values of q, k and v (the CUDA backend's chunk scores on q too): the backward must get
/// the same tensors with the same contents, as for any op's saved inputs; the key checks sizes, layouts and modes, not values.
/// </summary>
public sealed class AttentionSaved : IDisposable
{
    private Tensor[] _tensors = [];
    private string _key = "";
    private Tensor[] _packed = [], _packedFrom = [];

    /// <summary>Number of tensors the backend kept (0 when it keeps nothing or after <see cref="Dispose"/>); converted inputs not counted.</summary>
    public int Count => _tensors.Length;

    /// <summary>
    /// Stores <paramref name="tensors"/> under <paramref name="key"/> (the backend's description of the call they belong to).
    /// They stay in the current disposal scope, like the op's other saved inputs: a forward whose backward never runs leaks nothing.
    /// </summary>
    public void Keep(string key, params Tensor[] tensors)
    {
        foreach (var t in _tensors) t.Dispose();
        _key = key;
        _tensors = tensors;
    }

    /// <summary>Keeps the converted inputs <paramref name="packed"/> made from <paramref name="from"/> (q, k, v) for the backward.</summary>
    internal void KeepPacked(Tensor[] from, Tensor[] packed)
    {
        foreach (var t in _packed) t.Dispose();
        _packedFrom = from;
        _packed = packed;
    }

    /// <summary>The converted inputs kept for exactly these tensors <paramref name="from"/> (q, k, v), or null.</summary>
    internal Tensor[]? Packed(params Tensor[] from) =>
        _packed.Length == from.Length && from.Select((t, i) => ReferenceEquals(t, _packedFrom[i])).All(x => x) && _packed.All(t => !t.IsDisposed) ? _packed : null;

    /// <summary>The tensors kept under <paramref name="key"/>, or null when there are none for that call (or a scope has freed them).</summary>
    public IReadOnlyList<Tensor>? Get(string key) => _tensors.Length > 0 && _key == key && _tensors.All(t => !t.IsDisposed) ? _tensors : null;

    /// <summary>Frees the kept tensors.</summary>
    public void Dispose()
    {
        foreach (var t in _tensors.Concat(_packed)) t.Dispose();
        _tensors = [];
        _packed = [];
        _packedFrom = [];
        _key = "";
    }
}
