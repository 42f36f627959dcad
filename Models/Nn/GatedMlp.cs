using LightNet.Autograd;

namespace LightNet.Models.Nn;

/// <summary>SwiGLU channel mixer: <c>down_proj(SiLU(gate_proj x) ⊙ up_proj x)</c>, no biases.</summary>
public sealed class GatedMlp : Module
{
    public GatedMlp(int hidden, int intermediate, Generator gen, DType dtype = DType.Float32)
    {
        GateProj = Child("gate_proj", new Linear(hidden, intermediate, false, gen, dtype: dtype));
        UpProj = Child("up_proj", new Linear(hidden, intermediate, false, gen, dtype: dtype));
        DownProj = Child("down_proj", new Linear(intermediate, hidden, false, gen, dtype: dtype));
    }

    public Linear GateProj { get; }
    public Linear UpProj { get; }
    public Linear DownProj { get; }

    /// <summary>fla's default size: 256·ceil(int(c·ratio·2/3)/256).</summary>
    public static int DefaultIntermediate(int hidden, double hiddenRatio = 4)
    {
        int raw = (int)(hidden * hiddenRatio * 2 / 3);
        return 256 * ((raw + 255) / 256);
    }

    public Variable Forward(Variable x) => DownProj.Forward(GateProj.Forward(x).Silu() * UpProj.Forward(x));
}
