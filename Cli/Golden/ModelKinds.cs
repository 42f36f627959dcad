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

    /// <summary>Adds <c>grad/&lt;name&gt;</c> of every parameter.</summary>
    protected static void AddGrads(GoldenContext ctx, Module m, Dictionary<string, Tensor> results)
    {
        foreach (var (name, p) in m.NamedParameters())
            results["grad/" + name] = p.Grad ?? Tensor.Zeros(p.Shape, p.DType, p.Device);
    }

    /// <inheritdoc/>
    public abstract IReadOnlyDictionary<string, Tensor> Run(GoldenContext context);
}

/// <summary>Kind <c>lightnet_lm</c>: fla's causal LM; logits, shifted next-token loss, parameter gradients.</summary>
public sealed class LightNetLmKind : ModuleKind
{
    public override string Kind => "lightnet_lm";

    public override IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        var cfg = LightNetConfig.FromJson(ctx.Metadata("config"), ctx.File.Path);
        var m = new LightNetForCausalLM(cfg, new Generator(0), ctx.DType).To(ctx.Device);
        LoadParams(ctx, m);
        var ids = ctx.Load("input_ids", DType.Int64);
        var logits = ((LightNetForCausalLM)m).Forward(ids);
        var loss = LightNetForCausalLM.ShiftedLoss(logits, ids);
        loss.Backward();
        var r = new Dictionary<string, Tensor> { ["logits"] = logits.Data, ["loss"] = loss.Data };
        AddGrads(ctx, m, r);
        return r;
    }
}

/// <summary>Kind <c>image_classifier</c>: LightNetForImageClassification; logits, loss, gradients incl. <c>grad/images</c>.</summary>
public sealed class ImageClassifierKind : ModuleKind
{
    public override string Kind => "image_classifier";

    public override IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        var cfg = ImageClassifierConfig.FromJson(ctx.Metadata("config"), ctx.File.Path);
        var m = new LightNetForImageClassification(cfg, new Generator(0), ctx.DType);
        m.To(ctx.Device);
        LoadParams(ctx, m);
        var images = ctx.Leaf("images");
        var labels = ctx.Load("labels", DType.Int64);
        var logits = m.Forward(images);
        var loss = Variable.CrossEntropy(logits, labels);
        loss.Backward();
        var r = new Dictionary<string, Tensor> { ["logits"] = logits.Data, ["loss"] = loss.Data, ["grad/images"] = images.Grad! };
        AddGrads(ctx, m, r);
        return r;
    }
}

/// <summary>Kind <c>masked_lm</c>: LightNetForMaskedLM; logits, loss over labels ≠ −100, parameter gradients.</summary>
public sealed class MaskedLmKind : ModuleKind
{
    public override string Kind => "masked_lm";

    public override IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        var cfg = MaskedLMConfig.FromJson(ctx.Metadata("config"), ctx.File.Path);
        var m = new LightNetForMaskedLM(cfg, new Generator(0), ctx.DType);
        m.To(ctx.Device);
        LoadParams(ctx, m);
        var ids = ctx.Load("input_ids", DType.Int64);
        var labels = ctx.Load("labels", DType.Int64);
        var logits = m.Forward(ids);
        int B = ids.Size(0), T = ids.Size(1);
        var loss = Variable.CrossEntropy(logits.Reshape(B * T, -1), labels.Reshape(B * T));
        loss.Backward();
        var r = new Dictionary<string, Tensor> { ["logits"] = logits.Data, ["loss"] = loss.Data };
        AddGrads(ctx, m, r);
        return r;
    }
}

/// <summary>Kind <c>dit</c>: LightNetDiT noise prediction; out, MSE loss against <c>noise</c>, gradients incl. <c>grad/x</c>.</summary>
public sealed class DiTKind : ModuleKind
{
    public override string Kind => "dit";

    public override IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        var cfg = DiTConfig.FromJson(ctx.Metadata("config"), ctx.File.Path);
        var m = new LightNetDiT(cfg, new Generator(0), ctx.DType, zeroInit: false);
        m.To(ctx.Device);
        LoadParams(ctx, m);
        var x = ctx.Leaf("x");
        var t = ctx.Load("t", DType.Int64);
        var y = ctx.Load("y", DType.Int64);
        var noise = ctx.Load("noise");
        var o = m.Forward(x, t, y);
        var loss = (o - new Variable(noise)).Square().Mean();
        loss.Backward();
        var r = new Dictionary<string, Tensor> { ["out"] = o.Data, ["loss"] = loss.Data, ["grad/x"] = x.Grad! };
        AddGrads(ctx, m, r);
        return r;
    }
}

/// <summary>Kind <c>lna</c>: one LightNet attention layer (causal or not, optional MD-LRPE); out, aux/attn_o, angles, gradients.</summary>
public sealed class LnaKind : ModuleKind
{
    public override string Kind => "lna";

    public override IReadOnlyDictionary<string, Tensor> Run(GoldenContext ctx)
    {
        int c = ctx.ConfigInt("hidden_size");
        int? heads = ctx.ConfigIntOrNull("num_heads");
        int? kdim = ctx.HasConfig("expand_ratio") ? ctx.ConfigIntOrNull("expand_ratio") : ctx.ConfigIntOrNull("head_k_dim");
        bool causal = ctx.ConfigBool("causal");
        double? scale = ctx.HasConfig("attn_scale") ? ctx.ConfigDouble("attn_scale") : null;
        var cfg = AttentionConfig.FromFla(c, heads, kdim, ctx.ConfigInt("gate_low_rank_dim"), causal, scale);
        var m = new LightNetAttention(cfg, new Generator(0), ctx.DType);
        m.To(ctx.Device);
        LoadParams(ctx, m);
        var x = ctx.Leaf("x");
        var dout = ctx.Load("dout");
        Tensor? angles = null;
        Func<Variable, Variable>? lrpe = null;
        if (ctx.HasConfig("lrpe") && ctx.ConfigBool("lrpe"))
        {
            int nExtra = ctx.HasConfig("lrpe_n_extra") ? ctx.ConfigInt("lrpe_n_extra") : 0;
            double b = ctx.HasConfig("lrpe_base") ? ctx.ConfigDouble("lrpe_base") : MdLrpe.DefaultBase;
            angles = MdLrpe.Angles(ctx.ConfigInts("lrpe_grid"), cfg.HeadKDim, nExtra, b, dtype: ctx.DType, device: ctx.Device);
            var a = angles;
            lrpe = v => v.Lrpe(a);
        }
        var o = m.AttentionOutput(x, null, lrpe);
        var y = m.Gate(x, o);
        (y * new Variable(dout)).Sum().Backward();
        var r = new Dictionary<string, Tensor> { ["out"] = y.Data, ["aux/attn_o"] = o.Data, ["grad/x"] = x.Grad! };
        if (angles != null && ctx.Has("angles")) r["angles"] = angles;
        AddGrads(ctx, m, r);
        return r;
    }
}
