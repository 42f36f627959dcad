using LightNet.Autograd;

namespace LightNet.Models.Nn;

/// <summary><c>x / sqrt(mean(x²) + eps) ⊙ w</c> over the last axis (weight initialised to 1; optional no-affine form).</summary>
public sealed class RmsNorm : Module
{
    public RmsNorm(int dim, double eps, bool affine = true, DType dtype = DType.Float32)
    {
        Eps = eps;
        if (affine) Weight = Parameter("weight", Tensor.Ones([dim], dtype));
    }

    public double Eps { get; }
    public Variable? Weight { get; }

    public Variable Forward(Variable x) => Variable.RmsNorm(x, Weight, Eps);
}
