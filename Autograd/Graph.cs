namespace LightNet.Autograd;

/// <summary>Graph recording and the reverse sweep.</summary>
internal static class Graph
{
    /// <summary>Wraps an op's result: records a node when any input requires grad and recording is on. The op must have an entry in <see cref="OpRegistry"/>.</summary>
    public static Variable Record(string op, Tensor result, Variable[] inputs, Func<Tensor, Tensor?[]> backward) =>
        Record(op, result, inputs, (g, _) => backward(g));

    /// <summary>As <see cref="Record(string, Tensor, Variable[], Func{Tensor, Tensor?[]})"/>, with a rule that may add into an input's pending gradient.</summary>
    public static Variable Record(string op, Tensor result, Variable[] inputs, Func<Tensor, PendingGrad, Tensor?[]> backward)
    {
        OpRegistry.Check(op);
        if (NoGrad.IsActive || !inputs.Any(v => v.RequiresGrad)) return new Variable(result);
        OpRegistry.Observe(op);
        if (AnomalyMode.Enabled) AnomalyMode.CheckForward(op, result, inputs);
        return new Variable(result, new Node(op, inputs, backward));
    }

    public static void Backward(Variable root, Tensor? gradOutput, IReadOnlyList<Variable>? watched = null, Action<int>? onGradReady = null)
    {
        if (!root.RequiresGrad) throw new InvalidOperationException("backward: the output does not require grad (no input of the graph has RequiresGrad set)");
        var watchIndex = Watch(watched, onGradReady);
        Tensor seed;
        if (gradOutput == null)
        {
            if (root.Data.Numel != 1) throw new ShapeException($"backward: output of shape {root.Shape} is not a scalar; pass gradOutput");
            seed = Tensor.Ones(root.Shape, root.DType, root.Device);
        }
        else
        {
            if (gradOutput.Shape != root.Shape) throw new ShapeException($"backward: gradOutput {gradOutput.Shape} does not match output {root.Shape}");
            seed = gradOutput.Contiguous();
        }

        // Contributions each variable of the graph will receive in this pass: one per edge into it (the seed, for
        // the root). A node's rule runs once all of its have arrived; among the nodes ready, the one recorded last
        // runs first (as PyTorch does), so the sweep follows the forward pass backwards and a parameter's gradient is
        // final right after its last use rather than wherever a depth-first order happens to put it. A leaf's
        // contributions go into its Grad the moment the last one has arrived, and a watcher is told then.
        var pending = CountContributions(root);
        // Watched leaves outside this graph receive nothing: their gradient is final before the pass starts.
        if (watchIndex != null)
            for (int i = 0; i < watched!.Count; i++)
                if (!pending.ContainsKey(watched[i])) onGradReady!(i);

        var grads = new Dictionary<Variable, Tensor>(ReferenceEqualityComparer.Instance);
        var ready = new PriorityQueue<Variable, long>();
        Deliver(root, seed, grads, pending, ready, watchIndex, onGradReady);
        while (ready.TryDequeue(out var v, out _))
        {
            grads.Remove(v, out var g);
            var node = v.Node!;
            // A partial gradient the rule takes leaves the store; the rule hands it back with its contribution added.
            var taken = new Tensor?[node.Inputs.Length];
            var inGrads = node.BackwardRule(g!, new PendingGrad(k =>
            {
                var input = node.Inputs[k];
                if (!grads.TryGetValue(input, out var partial) || !partial.IsExclusive || partial.Shape != input.Shape || partial.DType != input.DType) return null;
                grads.Remove(input);
                return taken[k] = partial;
            }));
            if (AnomalyMode.Enabled) AnomalyMode.CheckBackward(node.Op, g!, node.Inputs, inGrads);
            // Rules may hand back g itself or one tensor for several inputs: give each slot its own view.
            for (int k = 0; k < inGrads.Length; k++)
            {
                var t = inGrads[k];
                if (t == null) continue;
                bool shared = ReferenceEquals(t, g);
                for (int j = 0; j < k && !shared; j++) shared = ReferenceEquals(inGrads[j], t);
                if (shared) inGrads[k] = t.Reshape(t.Shape.ToArray());
            }
            if (!inGrads.Any(t => ReferenceEquals(t, g))) g!.Dispose();
            for (int k = 0; k < node.Inputs.Length; k++)
            {
                var input = node.Inputs[k];
                var ig = k < inGrads.Length ? inGrads[k] : null;
                if (!input.RequiresGrad) { ig?.Dispose(); continue; }
                if (ig == null) throw new InvalidOperationException($"backward: op '{node.Op}' has no gradient for its input {k} ({input.Name ?? "unnamed"}, {input.Shape}), which requires grad");
                if (ig.Shape != input.Shape) throw new InvalidOperationException($"backward: op '{node.Op}' returned a gradient of shape {ig.Shape} for input {k} of shape {input.Shape}");
                if (taken[k] != null && !ReferenceEquals(ig, taken[k])) throw new InvalidOperationException($"backward: op '{node.Op}' took the pending gradient of input {k} but did not return it");
                Deliver(input, ig, grads, pending, ready, watchIndex, onGradReady, added: taken[k] != null);
            }
        }
    }

    /// <summary>For every variable reachable from the root through inputs that require grad: the number of gradient contributions it will receive.</summary>
    private static Dictionary<Variable, int> CountContributions(Variable root)
    {
        var pending = new Dictionary<Variable, int>(ReferenceEqualityComparer.Instance) { [root] = 1 };
        var stack = new Stack<Variable>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var v = stack.Pop();
            if (v.Node == null) continue;
            foreach (var inp in v.Node.Inputs)
            {
                if (!inp.RequiresGrad) continue;
                if (pending.TryGetValue(inp, out int n)) pending[inp] = n + 1;
                else
                {
                    pending[inp] = 1;
                    stack.Push(inp);
                }
            }
        }
        return pending;
    }

    /// <summary>Validates the watched leaves and maps each to its index (null when nothing is watched).</summary>
    private static Dictionary<Variable, int>? Watch(IReadOnlyList<Variable>? watched, Action<int>? onGradReady)
    {
        if (watched == null) return null;
        ArgumentNullException.ThrowIfNull(onGradReady);
        var index = new Dictionary<Variable, int>(watched.Count, ReferenceEqualityComparer.Instance);
        for (int i = 0; i < watched.Count; i++)
        {
            var w = watched[i] ?? throw new ArgumentException($"backward: watched leaf {i} is null", nameof(watched));
            if (!w.IsLeaf) throw new ArgumentException($"backward: watched variable {i} ({w.Name ?? w.Node!.Op}, {w.Shape}) is not a leaf", nameof(watched));
            if (!index.TryAdd(w, i)) throw new ArgumentException($"backward: watched leaf {i} ({w.Name ?? "unnamed"}, {w.Shape}) is listed twice (also at {index[w]})", nameof(watched));
        }
        return index;
    }

    /// <summary>
    /// Adds one contribution to a variable's pending gradient (contributions are summed in arrival order). With the
    /// last one, a node becomes ready to run its rule; a leaf gets the sum added to its Grad and a watcher is told.
    /// </summary>
    private static void Deliver(Variable v, Tensor g, Dictionary<Variable, Tensor> grads, Dictionary<Variable, int> pending,
        PriorityQueue<Variable, long> ready, Dictionary<Variable, int>? watchIndex, Action<int>? onGradReady, bool added = false)
    {
        // added: g is the partial sum the rule took, with its contribution already in it.
        if (added) grads[v] = g;
        else if (grads.TryGetValue(v, out var prev))
        {
            grads[v] = prev + g;
            prev.Dispose();
            g.Dispose();
        }
        else grads[v] = g;
        int left = pending[v] - 1;
        pending[v] = left;
        if (left > 0) return;
        if (v.Node != null)
        {
            ready.Enqueue(v, -v.Node.Sequence);
            return;
        }
        grads.Remove(v, out var total);
        Accumulate(v, total!);
        if (watchIndex != null && watchIndex.TryGetValue(v, out int i)) onGradReady!(i);
    }

    private static void Accumulate(Variable leaf, Tensor g)
    {
        if (leaf.Grad == null && g.IsExclusive) { leaf.Grad = DisposalScope.Detach(g); return; }
        // The incoming tensor shares storage with other tensors: the leaf gets its own copy.
        if (leaf.Grad == null) leaf.Grad = DisposalScope.Detach(g.Clone());
        else leaf.Grad.Add_(g);
        g.Dispose();
    }
}
