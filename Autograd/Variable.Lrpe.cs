namespace LightNet.Autograd;

public sealed partial class Variable
{
    /// <summary>MD-LRPE expansion <c>[x cos Θ, x sin Θ]</c> of x [.., T, d] with fixed angles [T, d] (see <see cref="MdLrpe.Angles"/>).</summary>
    public Variable Lrpe(Tensor angles)
    {
        var y = MdLrpe.Apply(Data, angles);
        return Graph.Record("md_lrpe", y, [this], g => [MdLrpe.Backward(g, angles)]);
    }
}
