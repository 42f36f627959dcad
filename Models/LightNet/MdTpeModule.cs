using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>MD-TPE (SPEC §3) as a module: parameters <c>rpe.*</c> and <c>decay</c> registered under the owner's prefix (e.g. <c>tpe.</c>).</summary>
public sealed class MdTpeModule : Module
{
    private readonly MdTpe _tpe;

    /// <summary>Creates MD-TPE over a <paramref name="dims"/>-D grid of <paramref name="channels"/> channels; the arguments are those of <see cref="MdTpe"/>.</summary>
    public MdTpeModule(int dims, int channels, int rpeDim, int rpeLayers, double eps, bool causal, bool residual, Generator gen, DType dtype = DType.Float32)
    {
        _tpe = new MdTpe(dims, channels, rpeDim, rpeLayers, eps, causal, residual, dtype, gen);
        foreach (var (name, v) in _tpe.Parameters) Adopt(name, v);
    }

    /// <summary>The underlying op holder (kernel, algorithm choice).</summary>
    public MdTpe Op => _tpe;

    /// <summary>Applies the encoding to x [B, nExtra + Π grid, c].</summary>
    public Variable Forward(Variable x, int[] grid, int nExtra = 0) => _tpe.Forward(x, grid, nExtra);
}
