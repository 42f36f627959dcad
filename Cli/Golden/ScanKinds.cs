using LightNet.Autograd;

namespace LightNet.Cli.Golden;

/// <summary>
/// Shared body of the additive-scan kinds (golden README, scan files): inputs <c>q, k, v, do</c> in
/// [B, H, T, dim], scale <c>α</c> from metadata <c>scale</c> (else config); compares <c>o</c>, the
/// gradients <c>dq, dk, dv</c> of <c>sum(o ⊙ do)</c>, and the debugging intermediates the file holds
/// (causal <c>z, kbar, g</c>; non-causal <c>kbar</c>).
/// </summary>
public abstract class ScanKind : IGoldenKind
{
    /// <inheritdoc/>
    public abstract string Kind { get; }

    /// <summary>The attention op under test.</summary>
    protected abstract Variable Attend(Variable q, Variable k, Variable v, double scale);

    /// <summary>The kind's intermediates computed from <c>k</c> [B, H, T, d] (SPEC §1), by file tensor name.</summary>
    protected abstract IEnumerable<(string Name, Func<Tensor> Compute)> Intermediates(Tensor k);

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor> Run(GoldenContext context)
    {
        double scale = context.MetadataOrConfigDouble("scale");
        var q = context.Leaf("q");
        var k = context.Leaf("k");
        var v = context.Leaf("v");
        var dO = context.Leaf("do", requiresGrad: false);
        var o = Attend(q, k, v, scale);
        if (o.Shape != dO.Shape) throw context.Error($"kind '{Kind}': 'do' has shape {dO.Shape} but o has shape {o.Shape}");
        (o * dO).Sum().Backward();
        var r = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            ["o"] = o.Data,
            ["dq"] = Grad(q),
            ["dk"] = Grad(k),
            ["dv"] = Grad(v),
        };
        foreach (var (name, compute) in Intermediates(k.Data))
            if (context.Has(name)) r[name] = compute();
        return r;
    }

    private Tensor Grad(Variable x) =>
        x.Grad ?? throw new InvalidOperationException($"kind '{Kind}': no gradient reached '{x.Name}'");
}

/// <summary>Kind <c>scan_causal</c>: causal additive attention (SPEC §1).</summary>
public sealed class ScanCausalKind : ScanKind
{
    /// <inheritdoc/>
    public override string Kind => "scan_causal";

    /// <inheritdoc/>
    protected override Variable Attend(Variable q, Variable k, Variable v, double scale) => AttentionOps.AdditiveCausal(q, k, v, scale);

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Func<Tensor> Compute)> Intermediates(Tensor k)
    {
        // Z_t = logcumsumexp_{s≤t} k_s, k̄_t = exp(k_t − Z_t), g_t = Z_{t−1} − Z_t with g_1 = 0.
        yield return ("z", () => k.LogCumSumExp(2));
        yield return ("kbar", () =>
        {
            using var z = k.LogCumSumExp(2);
            using var d = k - z;
            return d.Exp();
        });
        yield return ("g", () =>
        {
            using var z = k.LogCumSumExp(2);
            int t = k.Size(2);
            using var first = z.Narrow(2, 0, 1);
            using var head = z.Narrow(2, 0, t - 1);
            using var previous = Tensor.Concat([first, head], 2);   // Z_{t−1}, with Z_0 := Z_1 so that g_1 = 0
            return previous - z;
        });
    }
}

/// <summary>Kind <c>scan_noncausal</c>: non-causal additive attention <c>O = α Q softmax_T(K)ᵀ V</c>.</summary>
public sealed class ScanNonCausalKind : ScanKind
{
    /// <inheritdoc/>
    public override string Kind => "scan_noncausal";

    /// <inheritdoc/>
    protected override Variable Attend(Variable q, Variable k, Variable v, double scale) => AttentionOps.AdditiveNonCausal(q, k, v, scale);

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Func<Tensor> Compute)> Intermediates(Tensor k)
    {
        yield return ("kbar", () => k.Softmax(2));   // softmax over tokens, per feature
    }
}
