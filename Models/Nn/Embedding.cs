using LightNet.Autograd;

namespace LightNet.Models.Nn;

/// <summary>Lookup table [num, dim] indexed by int64 ids.</summary>
public sealed class Embedding : Module
{
    /// <summary>Creates a table of <paramref name="num"/> rows of width <paramref name="dim"/>, drawn from N(0, std²).</summary>
    public Embedding(int num, int dim, Generator gen, double std = 0.02, DType dtype = DType.Float32)
    {
        Weight = Parameter("weight", Init.Normal([num, dim], std, gen, dtype));
    }

    /// <summary>The table [num, dim] (<c>weight</c>).</summary>
    public Variable Weight { get; }

    /// <summary>Rows for ids of any shape: [..., dim].</summary>
    public Variable Forward(Tensor ids) => Variable.Embedding(Weight, ids);
}
