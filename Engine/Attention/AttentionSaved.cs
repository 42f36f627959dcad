namespace LightNet;

/// <summary>
/// What a backend's fused causal attention forward keeps for its backward, so that the backward does not compute it again
/// (the CUDA backend: k̄, the in-chunk log-decays, the chunk flags and the state at every chunk boundary). Backends that
/// keep nothing leave it empty and recompute; disposing it frees the tensors and the backward then recomputes.
/// </summary>
public sealed class AttentionSaved : IDisposable
{
    private Tensor[] _tensors = [];
    private string _key = "";

    /// <summary>Number of tensors kept (0 when the backend keeps nothing or after <see cref="Dispose"/>).</summary>
    public int Count => _tensors.Length;

    /// <summary>
    /// Stores <paramref name="tensors"/> under <paramref name="key"/> (the backend's description of the call they belong to).
    /// They stay in the current disposal scope, like the op's other saved inputs: a forward whose backward never runs leaks nothing.
    /// </summary>
    public void Keep(string key, params Tensor[] tensors)
    {
        Dispose();
        _key = key;
        _tensors = tensors;
    }

    /// <summary>The tensors kept under <paramref name="key"/>, or null when there are none for that call (or a scope has freed them).</summary>
    public IReadOnlyList<Tensor>? Get(string key) => _tensors.Length > 0 && _key == key && _tensors.All(t => !t.IsDisposed) ? _tensors : null;

    /// <summary>Frees the kept tensors.</summary>
    public void Dispose()
    {
        foreach (var t in _tensors) t.Dispose();
        _tensors = [];
        _key = "";
    }
}
