using System.Text.Json.Serialization;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>
/// Settings shared by the bidirectional LightNet models (image classifier, masked LM, DiT): block sizes,
/// attention sizing, MD-TPE and MD-LRPE options, with the golden-file key names in config.json.
/// </summary>
public abstract record TrunkConfig
{
    /// <summary>Model width c.</summary>
    public int HiddenSize { get; init; } = 192;
    /// <summary>Number of blocks.</summary>
    public int NumHiddenLayers { get; init; } = 6;
    /// <summary>Attention heads H; null derives them from <see cref="HeadKDim"/> as c / d (one of the two must be set).</summary>
    public int? NumHeads { get; init; } = 3;
    /// <summary>Key head dim d (config key <c>head_k_dim</c>, or fla's <c>expand_ratio</c>); null means c / H.</summary>
    public int? HeadKDim { get; init; }
    /// <summary>Rank r of the output gate's low-rank projection <c>g_proj</c> (c → r → c).</summary>
    public int GateLowRankDim { get; init; } = 32;
    /// <summary>Width of the MD-TPE relative-position MLP.</summary>
    public int TpeRpeDim { get; init; } = 32;
    /// <summary>Hidden layers of the MD-TPE relative-position MLP.</summary>
    public int TpeRpeLayers { get; init; } = 1;
    /// <summary>MLP width as a multiple of c when <see cref="IntermediateSize"/> is null (fla's rule, see <see cref="Intermediate"/>).</summary>
    public double HiddenRatio { get; init; } = 4;
    /// <summary>MLP width; null derives it from <see cref="HiddenRatio"/>.</summary>
    public int? IntermediateSize { get; init; }
    /// <summary>Attention scale; null means d^−½ with d the key head dim (before LRPE doubles it).</summary>
    public double? AttnScale { get; init; }
    /// <summary>Eps of the block and final RMSNorms (DiT's affine-free norms always use 1e-6).</summary>
    public double NormEps { get; init; } = 1e-6;
    /// <summary>Eps of the RMSNorms inside the MD-TPE relative-position MLP.</summary>
    public double TpeRmsNormEps { get; init; } = 1e-6;
    /// <summary>Frequency base of the MD-LRPE angles.</summary>
    public double LrpeBase { get; init; } = 10000;
    /// <summary>Apply MD-LRPE to q and k inside attention.</summary>
    public bool Lrpe { get; init; } = true;
    /// <summary>Apply MD-TPE to the token embeddings.</summary>
    public bool Tpe { get; init; } = true;
    /// <summary>TPE output X + Y (true, the models' setting) or Y alone.</summary>
    public bool TpeResidual { get; init; } = true;

    /// <summary>Non-causal attention sizes (fla's expand_ratio / num_heads rules).</summary>
    [JsonIgnore]
    public AttentionConfig Attention => AttentionConfig.FromFla(HiddenSize, NumHeads, HeadKDim, GateLowRankDim, causal: false, AttnScale);

    /// <summary>MLP width (fla's default when not given).</summary>
    [JsonIgnore]
    public int Intermediate => IntermediateSize ?? GatedMlp.DefaultIntermediate(HiddenSize, HiddenRatio);

    /// <summary>config.json text with the golden-file key names (read back by the derived type's FromJson).</summary>
    public string ToJson() => ConfigJson.Serialize(this);

    /// <summary>Copies the shared keys of a parsed config onto <paramref name="cfg"/>; <c>norm_eps</c> is required when the model has configurable norms.</summary>
    private protected static T ReadTrunk<T>(ConfigJson c, T cfg, bool normEpsRequired) where T : TrunkConfig
    {
        TrunkConfig b = cfg;
        b = b with
        {
            HiddenSize = c.Int("hidden_size"),
            NumHiddenLayers = c.Int("num_hidden_layers"),
            NumHeads = c.OptInt("num_heads"),
            HeadKDim = c.OptInt("head_k_dim") ?? c.OptInt("expand_ratio"),
            GateLowRankDim = c.Int("gate_low_rank_dim"),
            TpeRpeDim = c.Int("tpe_rpe_dim"),
            TpeRpeLayers = c.Int("tpe_rpe_layers"),
            HiddenRatio = c.OptDouble("hidden_ratio") ?? 4,
            IntermediateSize = c.OptInt("intermediate_size"),
            AttnScale = c.OptDouble("attn_scale"),
            NormEps = normEpsRequired ? c.Double("norm_eps") : c.OptDouble("norm_eps") ?? 1e-6,
            TpeRmsNormEps = c.OptDouble("tpe_rms_norm_eps") ?? 1e-6,
            LrpeBase = c.OptDouble("lrpe_base") ?? 10000,
            Lrpe = c.OptBool("lrpe") ?? true,
            Tpe = c.OptBool("tpe") ?? true,
            TpeResidual = c.OptBool("tpe_residual") ?? true,
        };
        b.Validate(new ConfigChecks(c.Source));
        return (T)b;
    }

    /// <summary>Range checks of a config read from a file (see <see cref="ConfigChecks"/>); each failure names the file and the key.</summary>
    private protected virtual void Validate(ConfigChecks k)
    {
        k.Size("hidden_size", HiddenSize);
        k.Size("num_hidden_layers", NumHiddenLayers);
        k.Attention(HiddenSize, NumHeads, HeadKDim, "head_k_dim");
        k.Size("gate_low_rank_dim", GateLowRankDim);
        if (Tpe) { k.Size("tpe_rpe_dim", TpeRpeDim); k.Size("tpe_rpe_layers", TpeRpeLayers, 1, 1024); k.Positive("tpe_rms_norm_eps", TpeRmsNormEps); }
        k.Intermediate(HiddenSize, IntermediateSize, HiddenRatio);
        k.Positive("norm_eps", NormEps);
        if (AttnScale is double s) k.Finite("attn_scale", s);
        if (Lrpe) k.Positive("lrpe_base", LrpeBase);
    }

    /// <summary>Parameters of the blocks (for the parameter-count estimate of a config read from a file).</summary>
    private protected double BlockParameters()
    {
        var att = Attention;
        return NumHiddenLayers * ConfigChecks.BlockParameters(HiddenSize, (double)att.NumHeads * att.HeadKDim, GateLowRankDim, Intermediate);
    }

    /// <summary>Image sizes of the patch models: channels, height and width, a patch side dividing both, at most <see cref="ConfigChecks.MaxSize"/> tokens.</summary>
    private protected static void Image(ConfigChecks k, int channels, int height, int width, int patch)
    {
        k.Size("in_channels", channels, 1, 1 << 16);
        k.Size("image_height", height, 1, 1 << 16);
        k.Size("image_width", width, 1, 1 << 16);
        k.Size("patch_size", patch, 1, Math.Min(height, width));
        if (height % patch != 0 || width % patch != 0) throw k.Error("patch_size", $"is {patch}, which does not divide image_height {height} and image_width {width}");
        if ((long)(height / patch) * (width / patch) > ConfigChecks.MaxSize) throw k.Error("patch_size", $"is {patch}: the {height / patch} × {width / patch} patch grid has more than {ConfigChecks.MaxSize} tokens");
    }
}
