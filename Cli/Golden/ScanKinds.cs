using LightNet.Autograd;

namespace LightNet.Cli.Golden;

/// <summary>
/// Shared body of the additive-scan kinds (golden README, scan files): inputs <c>q, k, v, do</c> in
/// [B, H, T, dim], scale <c>α</c> from metadata <c>scale</c> (else config); compares <c>o</c> and the
/// gradients <c>dq, dk, dv</c> of <c>sum(o ⊙ do)</c>.
/// </summary>
public abstract class ScanKind : IGoldenKind
{
    /// <inheritdoc/>
    public abstract string Kind { get; }

    /// <summary>The attention op under test.</summary>
    protected abstract Variable Attend(Variable q, Variable k, Variable v, double scale);

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
        return new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            ["o"] = o.Data,
            ["dq"] = Grad(q),
            ["dk"] = Grad(k),
            ["dv"] = Grad(v),
        };
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
}

/// <summary>Kind <c>scan_noncausal</c>: non-causal additive attention <c>O = α Q softmax_T(K)ᵀ V</c>.</summary>
public sealed class ScanNonCausalKind : ScanKind
{
    /// <inheritdoc/>
    public override string Kind => "scan_noncausal";

    /// <inheritdoc/>
    protected override Variable Attend(Variable q, Variable k, Variable v, double scale) => AttentionOps.AdditiveNonCausal(q, k, v, scale);
}
