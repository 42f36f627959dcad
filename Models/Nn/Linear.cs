using LightNet.Autograd;

namespace LightNet.Models.Nn;

/// <summary><c>y = x Wᵀ (+ b)</c> with W stored [out, in] (PyTorch layout); applies to the last axis.</summary>
public sealed class Linear : Module
{
    /// <summary>Creates the layer; weights (and bias) N(0, std²).</summary>
    public Linear(int inFeatures, int outFeatures, bool bias, Generator gen, double std = 0.02, DType dtype = DType.Float32)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = Parameter("weight", Init.Normal([outFeatures, inFeatures], std, gen, dtype));
        if (bias) Bias = Parameter("bias", Init.Normal([outFeatures], std, gen, dtype));
    }

    /// <summary>Input width: the size of x's last axis.</summary>
    public int InFeatures { get; }
    /// <summary>Output width.</summary>
    public int OutFeatures { get; }
    /// <summary>W [out, in] (<c>weight</c>).</summary>
    public Variable Weight { get; }
    /// <summary>b [out] (<c>bias</c>), or null for a layer without bias.</summary>
    public Variable? Bias { get; }

    /// <summary>Applies the layer to x [..., in].</summary>
    public Variable Forward(Variable x)
    {
        if (x.Size(-1) != InFeatures) throw new ShapeException($"linear: input {x.Shape} has {x.Size(-1)} features, the layer expects {InFeatures} (weight {Weight.Shape})");
        var y = Variable.Linear(x, Weight);
        return Bias != null ? y + Bias : y;
    }
}
