namespace LightNet.Models.Nn;

/// <summary>Parameter initialisers drawing from a counter-based <see cref="Generator"/>.</summary>
public static class Init
{
    /// <summary>N(0, std²) tensor.</summary>
    public static Tensor Normal(Shape shape, double std, Generator gen, DType dtype = DType.Float32) => Tensor.RandN(shape, gen, dtype, std: std);
}
