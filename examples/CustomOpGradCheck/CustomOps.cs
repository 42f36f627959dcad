using LightNet.Autograd;

namespace LightNet.Examples.CustomOpGradCheck;

/// <summary>
/// Custom differentiable ops built from <see cref="Variable"/> ops: each op the body uses records its own backward
/// rule, so the composite is differentiable with no hand-written gradient (the engine's rule recorder is internal).
/// </summary>
public static class CustomOps
{
    /// <summary>softplus(x) = log(1 + eˣ), in the overflow-free form max(x, 0) + log(1 + e^(−|x|)).</summary>
    public static Variable Softplus(Variable x) => x.Relu() + (x.Abs().Neg().Exp() + 1.0).Log();

    /// <summary>Mish (Misra 2019): x · tanh(softplus(x)).</summary>
    public static Variable Mish(Variable x) => x * Softplus(x).Tanh();

    /// <summary>Cosine similarity of a and b along the last axis (broadcasting), ε keeping the norms away from 0.</summary>
    public static Variable CosineSimilarity(Variable a, Variable b, double eps = 1e-8)
    {
        var dot = (a * b).Sum(-1);
        var norms = ((a.Square().Sum(-1) + eps) * (b.Square().Sum(-1) + eps)).Rsqrt();
        return dot * norms;
    }
}
