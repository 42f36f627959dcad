using System.Text.Json.Serialization;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>
/// Settings shared by the bidirectional LightNet models (image classifier, masked LM, DiT): block sizes,
/// attention sizing, MD-TPE and MD-LRPE options, with the golden-file key names in config.json.
/// </summary>
public abstract record TrunkConfig
{
    public int HiddenSize { get; init; } = 192;
    public int NumHiddenLayers { get; init; } = 6;
    public int? NumHeads { get; init; } = 3;
    public int? HeadKDim { get; init; }
    public int GateLowRankDim { get; init; } = 32;
    public int TpeRpeDim { get; init; } = 32;
    public int TpeRpeLayers { get; init; } = 1;
    public double HiddenRatio { get; init; } = 4;
    public int? IntermediateSize { get; init; }
    /// <summary>Attention scale; null means d^−½ with d the key head dim (before LRPE doubles it).</summary>
    public double? AttnScale { get; init; }
    /// <summary>Eps of the block and final RMSNorms (DiT's affine-free norms always use 1e-6).</summary>
    public double NormEps { get; init; } = 1e-6;
    public double TpeRmsNormEps { get; init; } = 1e-6;
    public double LrpeBase { get; init; } = 10000;
    public bool Lrpe { get; init; } = true;
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
    protected static T ReadTrunk<T>(ConfigJson c, T cfg, bool normEpsRequired) where T : TrunkConfig
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
        return (T)b;
    }
}
