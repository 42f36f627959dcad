using LightNet.Autograd;

namespace LightNet.Models.Nn;

/// <summary><c>x / sqrt(mean(x²) + eps) ⊙ w</c> over the last axis (weight initialised to 1; optional no-affine form).</summary>
public sealed class RmsNorm : Module
{
    /// <summary>Normalises over a last axis of size <paramref name="dim"/>; <paramref name="affine"/> adds a learned scale.</summary>
    public RmsNorm(int dim, double eps, bool affine = true, DType dtype = DType.Float32)
    {
        Eps = eps;
        if (affine) Weight = Parameter("weight", Tensor.Ones([dim], dtype));
    }

    /// <summary>Added to mean(x²) under the square root.</summary>
    public double Eps { get; }
    /// <summary>Per-channel scale w [dim] (<c>weight</c>); null without affine.</summary>
    public Variable? Weight { get; }

    /// <summary>Normalises x [..., dim]; the result has x's shape.</summary>
    public Variable Forward(Variable x) => Variable.RmsNorm(x, Weight, Eps);
}
