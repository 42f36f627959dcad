using System.Collections.Frozen;

namespace LightNet.Autograd;

/// <summary>One input of an op-table case: its shape and the interval its values are drawn from (uniformly).</summary>
/// <param name="Shape">Shape of the input.</param>
public sealed record OpInput(int[] Shape)
{
    /// <summary>Smallest value drawn.</summary>
    public double Low { get; init; } = -1;
    /// <summary>Largest value drawn.</summary>
    public double High { get; init; } = 1;
}

/// <summary>
/// A differentiable op as the autograd graph records it, with a small case that exercises it: the name passed to
/// <c>Graph.Record</c>, the inputs, and the function building the output from them. <see cref="Apply"/> makes any
/// constant it needs (indices, angles, masks) on the device and in the dtype of its first input.
/// </summary>
/// <param name="Name">The op name recorded in the graph.</param>
/// <param name="Inputs">The differentiable inputs of the case.</param>
/// <param name="Apply">Builds the output from variables of the shapes in <see cref="Inputs"/> (or <see cref="Broadcast"/>).</param>
public sealed record OpSpec(string Name, IReadOnlyList<OpInput> Inputs, Func<Variable[], Variable> Apply)
{
    /// <summary>Tells several cases of one op apart (e.g. with MD-LRPE); empty for the plain case.</summary>
    public string Variant { get; init; } = "";
    /// <summary>Inputs whose shapes differ and broadcast against each other, where the op broadcasts; null otherwise.</summary>
    public IReadOnlyList<OpInput>? Broadcast { get; init; }
    /// <summary>The op name, with the variant after a slash when there is one.</summary>
    public string Label => Variant.Length == 0 ? Name : $"{Name}/{Variant}";
}

/// <summary>
/// Every differentiable op of the engine: <c>Graph.Record</c> refuses a name that has no entry here, and the op-table
/// test (NUnit category <c>OpTable</c>) runs each entry on every device and dtype, contiguous, on permuted views and
/// broadcast, against float64 values and finite-difference gradients. A new op adds its entry next to its code here.
/// </summary>
public static class OpRegistry
{
    /// <summary>Every entry, one or more per recorded op name.</summary>
    public static IReadOnlyList<OpSpec> All { get; } = Build();

    private static readonly FrozenSet<string> Names = All.Select(s => s.Name).ToFrozenSet(StringComparer.Ordinal);

    [ThreadStatic] private static HashSet<string>? _recorded;

    /// <summary>Whether an op of this name has an entry.</summary>
    public static bool IsRegistered(string op) => Names.Contains(op);

    /// <summary>The names of the ops recorded into the graph on this thread while <paramref name="body"/> runs.</summary>
    public static IReadOnlySet<string> Recorded(Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var outer = _recorded;
        var names = new HashSet<string>(StringComparer.Ordinal);
        _recorded = names;
        try { body(); }
        finally { _recorded = outer; }
        outer?.UnionWith(names);
        return names;
    }

    /// <summary>Called by <c>Graph.Record</c> for every op, recorded or not: refuses an unregistered name.</summary>
    internal static void Check(string op)
    {
        if (!Names.Contains(op))
            throw new InvalidOperationException($"Graph.Record: op '{op}' has no entry in OpRegistry (Autograd/OpRegistry.cs); add one so the op-table test covers it");
    }

    /// <summary>Called by <c>Graph.Record</c> when it records a node: notes the name for <see cref="Recorded"/>.</summary>
    internal static void Observe(string op) => _recorded?.Add(op);

    /// <summary>The recorded name of a unary op.</summary>
    internal static string Name(UnaryOp op) => op.ToString().ToLowerInvariant();

    /// <summary>The recorded name of a binary op (elementwise max and min are <c>maximum</c> and <c>minimum</c>, as in torch).</summary>
    internal static string Name(BinaryOp op) => op switch
    {
        BinaryOp.Max => "maximum",
        BinaryOp.Min => "minimum",
        _ => op.ToString().ToLowerInvariant(),
    };

    /// <summary>Whether a binary op is differentiable (comparisons give 0/1 and record nothing).</summary>
    internal static bool Differentiable(BinaryOp op) => op < BinaryOp.Eq;

    private static OpInput In(params int[] shape) => new(shape);
    private static OpInput Positive(params int[] shape) => new(shape) { Low = 0.5, High = 2 };

    /// <summary>An int64 constant on the device of <paramref name="like"/>.</summary>
    private static Tensor Index(Variable like, long[] values, params int[] shape)
    {
        using var t = Tensor.FromArray(values, shape);
        return t.To(like.Device);
    }

    /// <summary>A floating constant in the dtype and on the device of <paramref name="like"/>.</summary>
    private static Tensor Const(Variable like, Tensor value)
    {
        using (value)
        using (var d = value.To(like.DType))
            return d.To(like.Device);
    }

    /// <summary>A [1, 19] padding mask with pads at 5, 17 and 18.</summary>
    private static Tensor Mask(Variable like) =>
        Const(like, Tensor.FromArray(Enumerable.Range(0, 19).Select(t => t is 5 or 17 or 18 ? 0.0 : 1.0).ToArray(), [1, 19]));

    private static Tensor Angles(Variable like, int tokens, int headDim) =>
        Const(like, MdLrpe.Angles([tokens], headDim, dtype: DType.Float64));

    private static List<OpSpec> Build()
    {
        var all = new List<OpSpec>();
        var positive = new HashSet<UnaryOp> { UnaryOp.Log, UnaryOp.Sqrt, UnaryOp.Rsqrt, UnaryOp.Reciprocal };
        foreach (var op in Enum.GetValues<UnaryOp>())
            all.Add(new(Name(op), [positive.Contains(op) ? Positive(3, 5) : In(3, 5)], x => x[0].Unary(op)));
        foreach (var op in Enum.GetValues<BinaryOp>().Where(Differentiable))
        {
            // Division and powers on positive operands (log x enters the exponent's gradient).
            bool pos = op is BinaryOp.Div or BinaryOp.Pow;
            OpInput A(params int[] s) => pos ? Positive(s) : In(s);
            all.Add(new(Name(op), [A(3, 5), A(3, 5)], x => Variable.Binary(op, x[0], x[1])) { Broadcast = [A(3, 1, 5), A(4, 1)] });
        }
        all.Add(new("where", [In(3, 5), In(3, 5)], x =>
        {
            var cond = Const(x[0], Tensor.FromArray(Enumerable.Range(0, 15).Select(i => (double)(i % 3 == 0 ? 1 : 0)).ToArray(), [3, 5]));
            return Variable.Where(cond, x[0], x[1]);
        }) { Broadcast = [In(3, 5), In(1, 5)] });

        // Products and normalisations.
        all.Add(new("matmul", [In(3, 4), In(4, 5)], x => Variable.Matmul(x[0], x[1])) { Broadcast = [In(2, 3, 4), In(4, 5)] });
        all.Add(new("matmul", [In(4), In(4, 5)], x => Variable.Matmul(x[0], x[1])) { Variant = "vector" });
        all.Add(new("linear", [In(2, 3, 4), In(5, 4)], x => Variable.Linear(x[0], x[1])));
        all.Add(new("softmax", [In(3, 5)], x => x[0].Softmax(-1)));
        all.Add(new("log_softmax", [In(3, 5)], x => x[0].LogSoftmax(0)));
        all.Add(new("cumsum", [In(3, 5)], x => x[0].Cumsum(1)));
        all.Add(new("logcumsumexp", [In(3, 5)], x => x[0].LogCumSumExp(1)));
        all.Add(new("cross_entropy", [In(4, 5)], x => Variable.CrossEntropy(x[0], Index(x[0], [2, -100, 0, 4], 4))));
        all.Add(new("swiglu", [In(3, 5), In(3, 5)], x => Variable.SwiGlu(x[0], x[1])));
        all.Add(new("rms_norm_gate", [In(3, 5), In(5), In(3, 5)], x => Variable.RmsNormGate(x[0], x[1], x[2], 1e-6)));
        all.Add(new("rms_norm", [In(3, 5), In(5)], x => Variable.RmsNorm(x[0], x[1], 1e-6)));
        all.Add(new("rms_norm", [In(3, 5)], x => Variable.RmsNorm(x[0], null, 1e-6)) { Variant = "unweighted" });
        all.Add(new("layer_norm", [In(3, 5), In(5), In(5)], x => Variable.LayerNorm(x[0], x[1], x[2], 1e-5)));

        // Reductions.
        all.Add(new("sum", [In(3, 5)], x => x[0].Sum(1)));
        all.Add(new("mean", [In(3, 5)], x => x[0].Mean([0], keepDims: true)));
        all.Add(new("max", [In(3, 5)], x => x[0].Max(1)));
        all.Add(new("min", [In(3, 5)], x => x[0].Min(0)));
        all.Add(new("logsumexp", [In(3, 5)], x => x[0].LogSumExp(1)));

        // Indexing.
        all.Add(new("index_select", [In(5, 3)], x => x[0].IndexSelect(0, Index(x[0], [4, 0, 4, 2], 4))));
        all.Add(new("index_add", [In(4, 3)], x => Variable.IndexAdd(new Shape(5, 3), 0, Index(x[0], [4, 0, 4, 2], 4), x[0])));
        all.Add(new("gather", [In(3, 5)], x => x[0].Gather(1, Index(x[0], [0, 4, 4, 1, 2, 2, 3, 0, 1, 1, 0, 4], 3, 4))));
        all.Add(new("scatter_add", [In(3, 5), In(3, 4)], x => x[0].ScatterAdd(1, Index(x[0], [0, 4, 4, 1, 2, 2, 3, 0, 1, 1, 0, 4], 3, 4), x[1])));

        // Shapes and views.
        all.Add(new("reshape", [In(3, 5)], x => x[0].Reshape(5, 3)));
        all.Add(new("permute", [In(2, 3, 4)], x => x[0].Permute(2, 0, 1)));
        all.Add(new("transpose", [In(3, 5)], x => x[0].Transpose()));
        all.Add(new("narrow", [In(5, 3)], x => x[0].Narrow(0, 1, 3)));
        all.Add(new("slice", [In(5, 3)], x => x[0].Slice(0, 0, 5, 2)));
        all.Add(new("select", [In(3, 5)], x => x[0].Select(1, 2)));
        all.Add(new("expand", [In(3, 1, 2)], x => x[0].Expand(3, 4, 2)));
        all.Add(new("squeeze", [In(3, 1, 5)], x => x[0].Squeeze(1)));
        all.Add(new("unsqueeze", [In(3, 5)], x => x[0].Unsqueeze(1)));
        all.Add(new("flatten", [In(2, 3, 4)], x => x[0].Flatten(1, 2)));
        all.Add(new("contiguous", [In(3, 5)], x => x[0].Contiguous()));
        all.Add(new("flip", [In(3, 5)], x => x[0].Flip(1)));
        all.Add(new("concat", [In(2, 5), In(3, 5)], x => Variable.Concat([x[0], x[1]], 0)));

        // LightNet's ops: MD-LRPE, MD-TPE's Toeplitz application, gated and additive attention (T = 19 spans two chunks of 16).
        all.Add(new("md_lrpe", [In(2, 7, 4)], x => x[0].Lrpe(Angles(x[0], 7, 4))));
        all.Add(new("toeplitz", [In(2, 7, 3), In(5, 3, 3)], x => Variable.Toeplitz(x[0], x[1], new ToeplitzPlan([3, 2], 1, algorithm: ToeplitzAlgorithm.Direct))) { Variant = "direct" });
        all.Add(new("toeplitz", [In(2, 7, 3), In(5, 3, 3)], x => Variable.Toeplitz(x[0], x[1], new ToeplitzPlan([3, 2], 1, algorithm: ToeplitzAlgorithm.Fft))) { Variant = "fft" });
        all.Add(new("toeplitz", [In(2, 5, 3), In(9, 3)], x => Variable.Toeplitz(x[0], x[1], new ToeplitzPlan([5], causal: true, residual: false))) { Variant = "causal" });
        OpInput Qk() => In(1, 2, 19, 3);
        OpInput V() => In(1, 2, 19, 4);
        var decay = new OpInput([1, 2, 19, 3]) { Low = -1, High = -0.05 };
        all.Add(new("gated_attention", [Qk(), Qk(), V(), decay], x => AttentionOps.Gated(x[0], x[1], x[2], x[3], 0.7, chunk: 16).O));
        all.Add(new("gated_attention", [Qk(), Qk(), V(), decay, In(1, 2, 3, 4)], x => AttentionOps.Gated(x[0], x[1], x[2], x[3], 0.7, x[4], chunk: 16).O) { Variant = "state" });
        all.Add(new("additive_attention_causal", [Qk(), Qk(), V()], x => AttentionOps.AdditiveCausal(x[0], x[1], x[2], 0.7, chunk: 16)));
        all.Add(new("additive_attention_causal", [Qk(), Qk(), V()], x =>
            AttentionOps.AdditiveCausalWithState(x[0], x[1], x[2], 0.7, chunk: 16, lrpeAngles: Angles(x[0], 19, 3)).O) { Variant = "lrpe" });
        all.Add(new("additive_attention_causal", [Qk(), Qk(), V(), In(1, 2, 3, 4), In(1, 2, 3)], x =>
            AttentionOps.AdditiveCausalWithState(x[0], x[1], x[2], 0.7, initial: new AdditiveState(x[3], x[4]), chunk: 16).O) { Variant = "state" });
        all.Add(new("gated_attention", [Qk(), Qk(), V()], x => AttentionOps.AdditiveCausal(x[0], x[1], x[2], 0.7, Mask(x[0]), chunk: 16)) { Variant = "additive_masked" });
        all.Add(new("additive_attention_noncausal", [Qk(), Qk(), V()], x => AttentionOps.AdditiveNonCausal(x[0], x[1], x[2], 0.7)));
        all.Add(new("softmax", [Qk(), Qk(), V()], x => AttentionOps.AdditiveNonCausal(x[0], x[1], x[2], 0.7, Mask(x[0]))) { Variant = "additive_noncausal_masked" });
        // Softmax attention is composed of matmul and softmax; its cases run the composition.
        all.Add(new("softmax", [Qk(), Qk(), V()], x => SoftmaxAttentionOps.Causal(x[0], x[1], x[2], 0.7)) { Variant = "attention_causal" });
        all.Add(new("softmax", [Qk(), Qk(), V()], x => SoftmaxAttentionOps.Full(x[0], x[1], x[2], 0.7)) { Variant = "attention_full" });
        all.Add(new("additive_attention_noncausal", [Qk(), Qk(), V()], x => AttentionOps.AdditiveNonCausal(x[0], x[1], x[2], 0.7, lrpeAngles: Angles(x[0], 19, 3))) { Variant = "lrpe" });
        return all;
    }
}
