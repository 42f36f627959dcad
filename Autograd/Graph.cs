namespace LightNet.Autograd;

/// <summary>Graph recording and the reverse sweep.</summary>
internal static class Graph
{
    /// <summary>Wraps an op's result: records a node when any input requires grad and recording is on.</summary>
    public static Variable Record(string op, Tensor result, Variable[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        if (NoGrad.IsActive || !inputs.Any(v => v.RequiresGrad)) return new Variable(result);
        return new Variable(result, new Node(op, inputs, backward));
    }

    public static void Backward(Variable root, Tensor? gradOutput)
    {
        if (!root.RequiresGrad) throw new InvalidOperationException("backward: the output does not require grad (no input of the graph has RequiresGrad set)");
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

        var order = TopologicalOrder(root);
        var grads = new Dictionary<Variable, Tensor>(ReferenceEqualityComparer.Instance) { [root] = seed };
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var v = order[i];
            if (!grads.Remove(v, out var g)) continue;
            if (v.IsLeaf)
            {
                Accumulate(v, g);
                continue;
            }
            var node = v.Node!;
            var inGrads = node.BackwardRule(g);
            // Rules may hand back g itself or one tensor for several inputs: give each slot its own view.
            for (int k = 0; k < inGrads.Length; k++)
            {
                var t = inGrads[k];
                if (t == null) continue;
                bool shared = ReferenceEquals(t, g);
                for (int j = 0; j < k && !shared; j++) shared = ReferenceEquals(inGrads[j], t);
                if (shared) inGrads[k] = t.Reshape(t.Shape.ToArray());
            }
            if (!inGrads.Any(t => ReferenceEquals(t, g))) g.Dispose();
            for (int k = 0; k < node.Inputs.Length; k++)
            {
                var input = node.Inputs[k];
                var ig = k < inGrads.Length ? inGrads[k] : null;
                if (!input.RequiresGrad) { ig?.Dispose(); continue; }
                if (ig == null) throw new InvalidOperationException($"backward: op '{node.Op}' has no gradient for its input {k} ({input.Name ?? "unnamed"}, {input.Shape}), which requires grad");
                if (ig.Shape != input.Shape) throw new InvalidOperationException($"backward: op '{node.Op}' returned a gradient of shape {ig.Shape} for input {k} of shape {input.Shape}");
                if (grads.TryGetValue(input, out var prev))
                {
                    grads[input] = prev + ig;
                    prev.Dispose();
                    ig.Dispose();
                }
                else grads[input] = ig;
            }
        }
    }

    private static void Accumulate(Variable leaf, Tensor g)
    {
        // The incoming tensor may share storage with other gradients: the leaf gets its own copy.
        if (leaf.Grad == null) leaf.Grad = DisposalScope.Detach(g.Clone());
        else leaf.Grad.Add_(g);
        g.Dispose();
    }

    private static List<Variable> TopologicalOrder(Variable root)
    {
        var order = new List<Variable>();
        var seen = new HashSet<Variable>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Variable V, bool Done)>();
        stack.Push((root, false));
        while (stack.Count > 0)
        {
            var (v, done) = stack.Pop();
            if (done) { order.Add(v); continue; }
            if (!seen.Add(v)) continue;
            stack.Push((v, true));
            if (v.Node != null)
                foreach (var inp in v.Node.Inputs)
                    if (inp.RequiresGrad && !seen.Contains(inp)) stack.Push((inp, false));
        }
        return order;
    }
}
