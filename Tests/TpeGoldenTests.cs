using LightNet.Autograd;

namespace LightNet.Tests;

[Category("Golden")]
public class TpeGoldenTests
{
    [Test]
    public void GoldenTpe(
        [Values("tpe_2d_small.safetensors", "tpe_1d_causal_small.safetensors")] string file,
        [Values(DType.Float64, DType.Float32)] DType dt,
        [Values(ToeplitzAlgorithm.Direct, ToeplitzAlgorithm.Fft)] ToeplitzAlgorithm algo)
    {
        using var s = DisposalScope.Begin();
        var f = new GoldenSafetensorsTestReader(GoldenSafetensorsTestReader.GoldenPath(file));
        Assert.That(f.Metadata["kind"], Is.EqualTo("tpe"));
        var cfg = f.Config();
        var grid = cfg.GetProperty("grid").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int c = cfg.GetProperty("channels").GetInt32(), l = cfg.GetProperty("n_extra").GetInt32();
        using var m = new MdTpe(cfg.GetProperty("k").GetInt32(), c, cfg.GetProperty("rpe_dim").GetInt32(), cfg.GetProperty("rpe_layers").GetInt32(),
            cfg.GetProperty("rms_norm_eps").GetDouble(), cfg.GetProperty("causal").GetBoolean(), cfg.GetProperty("residual").GetBoolean(), dt)
        { Algorithm = algo };
        foreach (var name in f.Names.Where(n => n.StartsWith("param/", StringComparison.Ordinal)))
            m.Load(name["param/".Length..], f.Tensor(name, dt));
        Assert.That(m.Parameters.Keys.Select(k => "param/" + k), Is.EquivalentTo(f.Names.Where(n => n.StartsWith("param/", StringComparison.Ordinal))));
        double tol = dt == DType.Float64 ? 1e-10 : 1e-4;

        var x = new Variable(f.Tensor("x", dt), requiresGrad: true);
        var kernel = m.Kernel(grid);
        Reference.Close(kernel.Data, f.Doubles("kernel"), tol, "kernel");
        var y = m.Forward(x, grid, l);
        Reference.Close(y.Data, f.Doubles("out"), tol, "out");
        var dout = f.Tensor("dout", dt);
        y.Backward(dout);
        Reference.Close(x.Grad!, f.Doubles("grad/x"), tol, "grad/x");
        foreach (var (name, p) in m.Parameters) Reference.Close(p.Grad!, f.Doubles("grad/" + name), tol, "grad/" + name);
        var (_, dk) = Tensor.ToeplitzBackward(x.Data, kernel.Data, dout, m.Plan(grid, l), needX: false);
        Reference.Close(dk!, f.Doubles("grad/kernel"), tol, "grad/kernel");
    }
}
