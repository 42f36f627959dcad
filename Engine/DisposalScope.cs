namespace LightNet;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost open scope and disposes
/// them when it ends, except those handed out with <see cref="Keep"/>.
/// <code>using (var s = DisposalScope.Begin()) { var y = f(x); result = s.Keep(y); }</code>
/// </summary>
public sealed class DisposalScope : IDisposable
{
    [ThreadStatic] private static DisposalScope? _current;
    private readonly DisposalScope? _parent;
    private readonly HashSet<Tensor> _owned = new(ReferenceEqualityComparer.Instance);
    private bool _disposed;

    private DisposalScope() { _parent = _current; _current = this; }

    /// <summary>Opens a scope on this thread.</summary>
    public static DisposalScope Begin() => new();

    /// <summary>The innermost open scope on this thread, if any.</summary>
    public static DisposalScope? Current => _current;

    internal static void Register(Tensor t) => _current?._owned.Add(t);

    /// <summary>Removes a tensor from every scope on this thread, so that no scope disposes it.</summary>
    public static Tensor Detach(Tensor t)
    {
        for (var s = _current; s != null; s = s._parent) s._owned.Remove(t);
        return t;
    }

    /// <summary>Moves a tensor to the parent scope (or out of all scopes) and returns it.</summary>
    public Tensor Keep(Tensor t)
    {
        _owned.Remove(t);
        _parent?._owned.Add(t);
        return t;
    }

    /// <summary>Disposes every tensor still owned by this scope.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current == this) _current = _parent;
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
    }
}
