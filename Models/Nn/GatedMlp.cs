using LightNet.Autograd;

namespace LightNet.Models.Nn;

/// <summary>SwiGLU channel mixer: <c>down_proj(SiLU(gate_proj x) ⊙ up_proj x)</c>, no biases.</summary>
public sealed class GatedMlp : Module
{
    /// <summary>Creates the projections hidden → intermediate → hidden, weights N(0, 0.02²) from <paramref name="gen"/>.</summary>
    public GatedMlp(int hidden, int intermediate, Generator gen, DType dtype = DType.Float32)
    {
        GateProj = Child("gate_proj", new Linear(hidden, intermediate, false, gen, dtype: dtype));
        UpProj = Child("up_proj", new Linear(hidden, intermediate, false, gen, dtype: dtype));
        DownProj = Child("down_proj", new Linear(intermediate, hidden, false, gen, dtype: dtype));
    }

    /// <summary>hidden → intermediate, through SiLU (<c>gate_proj</c>).</summary>
    public Linear GateProj { get; }
    /// <summary>hidden → intermediate (<c>up_proj</c>).</summary>
    public Linear UpProj { get; }
    /// <summary>intermediate → hidden (<c>down_proj</c>).</summary>
    public Linear DownProj { get; }

    /// <summary>fla's default size: 256·ceil(int(c·ratio·2/3)/256).</summary>
    public static int DefaultIntermediate(int hidden, double hiddenRatio = 4)
    {
        int raw = (int)(hidden * hiddenRatio * 2 / 3);
        return 256 * ((raw + 255) / 256);
    }

    /// <summary>Applies the MLP to x [..., hidden]; returns [..., hidden].</summary>
    public Variable Forward(Variable x) => DownProj.Forward(Variable.SwiGlu(GateProj.Forward(x), UpProj.Forward(x)));
}
