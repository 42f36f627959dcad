namespace LightNet.Autograd;

/// <summary>
/// A tensor in the autograd graph. Operations on variables record, next to their forward, a backward
/// rule; <see cref="Backward(Tensor?)"/> runs each rule once all its output's gradient has arrived (the latest
/// recorded first) and accumulates gradients into leaves that <see cref="RequiresGrad"/>.
/// </summary>
public sealed partial class Variable : IDisposable
{
    /// <summary>Wraps a tensor as a graph leaf.</summary>
    public Variable(Tensor data, bool requiresGrad = false, string? name = null)
    {
        Data = data;
        RequiresGrad = requiresGrad;
        Name = name;
    }

    internal Variable(Tensor data, Node node)
    {
        Data = data;
        RequiresGrad = true;
        Node = node;
    }

    /// <summary>The value.</summary>
    public Tensor Data { get; private set; }
    /// <summary>Whether gradients flow to (or through) this variable.</summary>
    public bool RequiresGrad { get; set; }
    /// <summary>Accumulated gradient (leaves only), kept out of disposal scopes.</summary>
    public Tensor? Grad { get; set; }
    /// <summary>Optional name, used in error messages and gradient checks.</summary>
    public string? Name { get; set; }
    internal Node? Node { get; }
    /// <summary>True when not produced by a recorded op.</summary>
    public bool IsLeaf => Node == null;

    /// <summary>Shape of the value.</summary>
    public Shape Shape => Data.Shape;
    /// <summary>Rank of the value.</summary>
    public int Rank => Data.Rank;
    /// <summary>Element type of the value.</summary>
    public DType DType => Data.DType;
    /// <summary>Device of the value.</summary>
    public Device Device => Data.Device;
    /// <summary>Size of one axis.</summary>
    public int Size(int axis) => Data.Size(axis);

    /// <summary>A new leaf with the same values (shared storage when contiguous, a copy otherwise), outside the graph.</summary>
    public Variable Detach() => new(Data.Contiguous());

    /// <summary>Replaces the value in place (optimizers); the variable must be a leaf.</summary>
    public void SetData(Tensor value)
    {
        if (!IsLeaf) throw new InvalidOperationException($"set_data: '{Name ?? "variable"}' is not a leaf");
        if (value.Shape != Data.Shape) throw new ShapeException($"set_data: new value {value.Shape} does not match {Data.Shape}");
        Data = value;
    }

    /// <summary>Drops the accumulated gradient.</summary>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    /// <summary>Backpropagates from this variable (a scalar unless <paramref name="gradOutput"/> is given).</summary>
    public void Backward(Tensor? gradOutput = null) => Graph.Backward(this, gradOutput);

    /// <summary>
    /// Backpropagates like <see cref="Backward(Tensor?)"/> and calls <paramref name="onGradReady"/>(i) exactly once
    /// for each leaf <paramref name="leaves"/>[i], as soon as that leaf's <see cref="Grad"/> will receive nothing
    /// more in this pass (the pending contributions of every leaf are counted from the graph before the pass runs,
    /// and a leaf's are added to its Grad, as before, the moment the last one arrives; a leaf used several times is
    /// reported after its last use). A leaf that gets no gradient in this pass (not in the graph, or not
    /// <see cref="RequiresGrad"/>) is reported before any backward rule runs, with its Grad unchanged (possibly
    /// null). Gradients accumulate across passes as usual: the callback reports "final for this pass", so a caller
    /// accumulating micro-batches watches only the last one. The callback runs on this thread, inside the pass (its
    /// tensors belong to the caller's disposal scope); an exception from it aborts the pass. Used by data
    /// parallelism to start all-reducing gradient buckets while the backward pass is still running.
    /// </summary>
    /// <param name="gradOutput">Gradient of the output (null: this variable is a scalar and the seed is 1).</param>
    /// <param name="leaves">Leaves to watch (each at most once; non-leaves are rejected).</param>
    /// <param name="onGradReady">Called with the index into <paramref name="leaves"/> of each leaf whose gradient is final.</param>
    public void Backward(Tensor? gradOutput, IReadOnlyList<Variable> leaves, Action<int> onGradReady)
    {
        ArgumentNullException.ThrowIfNull(leaves);
        ArgumentNullException.ThrowIfNull(onGradReady);
        Graph.Backward(this, gradOutput, leaves, onGradReady);
    }

    /// <summary>Disposes the value and the gradient.</summary>
    public void Dispose()
    {
        Data.Dispose();
        ZeroGrad();
    }

    /// <inheritdoc/>
    public override string ToString() => $"Variable({Name ?? Node?.Op ?? "leaf"}, {Data})";
}

/// <summary>
/// One recorded op: its inputs and the rule that maps the output gradient to input gradients. A rule may also take
/// an input's partial gradient gathered so far (<see cref="PendingGrad"/>) and return it with its own contribution
/// added in place, instead of a new tensor that the sweep would add.
/// </summary>
internal sealed class Node(string op, Variable[] inputs, Func<Tensor, PendingGrad, Tensor?[]> backward)
{
    private static long _recorded;

    public string Op { get; } = op;
    /// <summary>Recording order (process-wide, increasing): the backward sweep runs later nodes first.</summary>
    public long Sequence { get; } = Interlocked.Increment(ref _recorded);
    public Variable[] Inputs { get; } = inputs;
    public Func<Tensor, PendingGrad, Tensor?[]> BackwardRule { get; } = backward;
}

/// <summary>
/// Hands a backward rule the partial gradient already gathered for one of its inputs, when the sweep owns it
/// exclusively (contiguous, no other view): the rule adds its contribution into it and returns that same tensor.
/// </summary>
/// <param name="take">Input index → the partial sum (removed from the sweep's store), or null when there is none to give.</param>
internal readonly struct PendingGrad(Func<int, Tensor?>? take)
{
    /// <summary>The exclusive partial gradient of input <paramref name="input"/>, or null; a tensor taken must be returned in that input's slot.</summary>
    public Tensor? Take(int input) => take?.Invoke(input);
}

/// <summary>Disables graph recording on this thread while open: <c>using (NoGrad.Scope()) { … }</c>.</summary>
public sealed class NoGrad : IDisposable
{
    [ThreadStatic] private static int _depth;
    private bool _closed;
    private NoGrad() { _depth++; }

    /// <summary>Opens a no-grad region.</summary>
    public static NoGrad Scope() => new();

    /// <summary>True while any no-grad region is open on this thread.</summary>
    public static bool IsActive => _depth > 0;

    /// <summary>Closes the region.</summary>
    public void Dispose()
    {
        if (_closed) return;
        _closed = true;
        _depth--;
    }
}
