using LightNet.Autograd;

namespace LightNet.Cli.Golden;

/// <summary>Kind <c>lrpe</c>: MD-LRPE expansion alone; out, angles and grad/x of <c>sum(out ⊙ dout)</c>.</summary>
public sealed class LrpeKind : IGoldenKind
{
    /// <inheritdoc/>
    public string Kind => "lrpe";

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        var x = ctx.Leaf("x");
        var dout = ctx.Load("dout");
        int offset = ctx.HasConfig("offset") ? ctx.ConfigInt("offset") : 0;
        double b = ctx.HasConfig("base") ? ctx.ConfigDouble("base") : MdLrpe.DefaultBase;
        var angles = MdLrpe.Angles(ctx.ConfigInts("grid"), ctx.ConfigInt("head_dim"), ctx.ConfigInt("n_extra"), b, offset, x.Size(-2), ctx.DType, ctx.Device);
        var y = x.Lrpe(angles);
        (y * new Variable(dout)).Sum().Backward();
        return new Dictionary<string, Tensor> { ["out"] = y.Data, ["angles"] = angles, ["grad/x"] = x.Grad! };
    }
}

/// <summary>Kind <c>tpe</c>: MD-TPE module alone; out, kernel, grad/x, grad/kernel (before the causal mask) and parameter gradients.</summary>
public sealed class TpeKind : IGoldenKind
{
    /// <inheritdoc/>
    public string Kind => "tpe";

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        var grid = ctx.ConfigInts("grid");
        int c = ctx.ConfigInt("channels");
        var tpe = new MdTpe(grid.Length, c, ctx.ConfigInt("rpe_dim"), ctx.ConfigInt("rpe_layers"), ctx.ConfigDouble("rms_norm_eps"),
            ctx.ConfigBool("causal"), ctx.ConfigBool("residual"), ctx.DType);
        var stored = ctx.File.Names.Where(n => n.StartsWith("param/", StringComparison.Ordinal)).Select(n => n["param/".Length..]).ToHashSet();
        if (!stored.SetEquals(tpe.Parameters.Keys))
            throw ctx.Error($"tpe parameters differ: file has [{string.Join(", ", stored.Order())}], module has [{string.Join(", ", tpe.Parameters.Keys.Order())}]");
        foreach (var name in stored) tpe.Load(name, ctx.Load("param/" + name));
        int nExtra = ctx.HasConfig("n_extra") ? ctx.ConfigInt("n_extra") : 0;
        var x = ctx.Leaf("x");
        var dout = ctx.Load("dout");
        // The kernel is cut out of the graph as a leaf so that its own gradient can be compared, then fed back.
        var kernel = tpe.Kernel(grid);
        var kLeaf = new Variable(kernel.Data, requiresGrad: true, name: "kernel");
        var y = Variable.Toeplitz(x, kLeaf, tpe.Plan(grid, nExtra));
        (y * new Variable(dout)).Sum().Backward();
        kernel.Backward(kLeaf.Grad!);
        // The stored kernel is t_Δ as applied: zero at future offsets (Δ < 0) in causal mode.
        var applied = kernel.Data.Clone();
        if (tpe.Causal)
            using (var future = applied.Narrow(0, 0, grid[0] - 1)) future.CopyFrom(Tensor.Zeros([], applied.DType, applied.Device));
        var r = new Dictionary<string, Tensor> { ["out"] = y.Data, ["kernel"] = applied, ["grad/x"] = x.Grad!, ["grad/kernel"] = kLeaf.Grad! };
        foreach (var (name, p) in tpe.Parameters) r["grad/" + name] = p.Grad!;
        return r;
    }
}
