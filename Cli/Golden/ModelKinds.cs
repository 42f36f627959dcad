using LightNet.Autograd;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;

namespace LightNet.Cli.Golden;

/// <summary>
/// Shared body of the kinds that run a whole module: parameters come from <c>param/&lt;name&gt;</c> (every
/// parameter must be present and no other), the result holds the outputs, <c>loss</c> and
/// <c>grad/&lt;name&gt;</c> for every parameter.
/// </summary>
public abstract class ModuleKind : IGoldenKind
{
    /// <inheritdoc/>
    public abstract string Kind { get; }

    /// <summary>Loads <c>param/*</c> into the module, strictly.</summary>
    protected static void LoadParams(GoldenContext ctx, Module m)
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in ctx.File.Names)
            if (name.StartsWith("param/", StringComparison.Ordinal)) state[name["param/".Length..]] = ctx.Load(name);
        try { m.LoadStateDict(state); }
        catch (InvalidDataException e) { throw ctx.Error(e.Message); }
    }

    /// <summary>Moves a freshly built module to the compute device and loads the file's parameters into it.</summary>
    protected static T Build<T>(GoldenContext ctx, T m) where T : Module
    {
        m.To(ctx.Device);
        LoadParams(ctx, m);
        return m;
    }

    /// <summary>Backpropagates <paramref name="loss"/>; returns the outputs, <c>loss</c> and <c>grad/&lt;name&gt;</c> of every parameter.</summary>
    protected static Dictionary<string, Tensor> Results(Module m, Variable loss, params (string Name, Tensor Value)[] outputs)
    {
        loss.Backward();
        var r = outputs.ToDictionary(o => o.Name, o => o.Value);
        r["loss"] = loss.Data;
        foreach (var (name, p) in m.NamedParameters())
            r["grad/" + name] = p.Grad ?? Tensor.Zeros(p.Shape, p.DType, p.Device);
        return r;
    }

    /// <inheritdoc/>
    public abstract IReadOnlyDictionary<string, Tensor> Run(GoldenContext context);
}

/// <summary>Kind <c>lightnet_lm</c>: fla's causal LM; logits, shifted next-token loss, parameter gradients.</summary>
public sealed class LightNetLmKind : ModuleKind
{
    /// <inheritdoc/>
    public override string Kind => "lightnet_lm";

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        var cfg = LightNetConfig.FromJson(ctx.Metadata("config"), ctx.File.Path);
        var m = Build(ctx, new LightNetForCausalLM(cfg, new Generator(0), ctx.DType));
        var ids = ctx.Load("input_ids", DType.Int64);
        var logits = m.Forward(ids);
        return Results(m, LightNetForCausalLM.ShiftedLoss(logits, ids), ("logits", logits.Data));
    }
}

/// <summary>Kind <c>image_classifier</c>: LightNetForImageClassification; logits, loss, gradients incl. <c>grad/images</c>.</summary>
public sealed class ImageClassifierKind : ModuleKind
{
    /// <inheritdoc/>
    public override string Kind => "image_classifier";

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        var cfg = ImageClassifierConfig.FromJson(ctx.Metadata("config"), ctx.File.Path);
        var m = Build(ctx, new LightNetForImageClassification(cfg, new Generator(0), ctx.DType));
        var images = ctx.Leaf("images");
        var logits = m.Forward(images);
        var r = Results(m, Variable.CrossEntropy(logits, ctx.Load("labels", DType.Int64)), ("logits", logits.Data));
        r["grad/images"] = images.Grad!;
        return r;
    }
}

/// <summary>Kind <c>masked_lm</c>: LightNetForMaskedLM; logits, loss over labels ≠ −100, parameter gradients.</summary>
public sealed class MaskedLmKind : ModuleKind
{
    /// <inheritdoc/>
    public override string Kind => "masked_lm";

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        var cfg = MaskedLMConfig.FromJson(ctx.Metadata("config"), ctx.File.Path);
        var m = Build(ctx, new LightNetForMaskedLM(cfg, new Generator(0), ctx.DType));
        var ids = ctx.Load("input_ids", DType.Int64);
        var labels = ctx.Load("labels", DType.Int64);
        var logits = m.Forward(ids);
        int B = ids.Size(0), T = ids.Size(1);
        return Results(m, Variable.CrossEntropy(logits.Reshape(B * T, -1), labels.Reshape(B * T)), ("logits", logits.Data));
    }
}

/// <summary>Kind <c>dit</c>: LightNetDiT noise prediction; out, MSE loss against <c>noise</c>, gradients incl. <c>grad/x</c>.</summary>
public sealed class DiTKind : ModuleKind
{
    /// <inheritdoc/>
    public override string Kind => "dit";

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        var cfg = DiTConfig.FromJson(ctx.Metadata("config"), ctx.File.Path);
        var m = Build(ctx, new LightNetDiT(cfg, new Generator(0), ctx.DType, zeroInit: false));
        var x = ctx.Leaf("x");
        var o = m.Forward(x, ctx.Load("t", DType.Int64), ctx.Load("y", DType.Int64));
        var r = Results(m, (o - new Variable(ctx.Load("noise"))).Square().Mean(), ("out", o.Data));
        r["grad/x"] = x.Grad!;
        return r;
    }
}

/// <summary>Kind <c>lna</c>: one LightNet attention layer (causal or not, optional MD-LRPE); out, aux/attn_o, angles, gradients.</summary>
public sealed class LnaKind : ModuleKind
{
    /// <inheritdoc/>
    public override string Kind => "lna";

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        int c = ctx.ConfigInt("hidden_size");
        int? heads = ctx.ConfigIntOrNull("num_heads");
        int? kdim = ctx.HasConfig("expand_ratio") ? ctx.ConfigIntOrNull("expand_ratio") : ctx.ConfigIntOrNull("head_k_dim");
        bool causal = ctx.ConfigBool("causal");
        double? scale = ctx.HasConfig("attn_scale") ? ctx.ConfigDouble("attn_scale") : null;
        var cfg = AttentionConfig.FromFla(c, heads, kdim, ctx.ConfigInt("gate_low_rank_dim"), causal, scale);
        var m = Build(ctx, new LightNetAttention(cfg, new Generator(0), ctx.DType));
        var x = ctx.Leaf("x");
        var dout = ctx.Load("dout");
        Tensor? angles = null;
        if (ctx.HasConfig("lrpe") && ctx.ConfigBool("lrpe"))
        {
            int nExtra = ctx.HasConfig("lrpe_n_extra") ? ctx.ConfigInt("lrpe_n_extra") : 0;
            double b = ctx.HasConfig("lrpe_base") ? ctx.ConfigDouble("lrpe_base") : MdLrpe.DefaultBase;
            angles = MdLrpe.Angles(ctx.ConfigInts("lrpe_grid"), cfg.HeadKDim, nExtra, b, dtype: ctx.DType, device: ctx.Device);
        }
        var o = m.AttentionOutput(x, null, angles);
        var y = m.Gate(x, o);
        var r = Results(m, (y * new Variable(dout)).Sum(), ("out", y.Data), ("aux/attn_o", o.Data));
        r.Remove("loss");
        r["grad/x"] = x.Grad!;
        if (angles != null && ctx.Has("angles")) r["angles"] = angles;
        return r;
    }
}
