using System.Text.Json;
using System.Text.Json.Nodes;

namespace LightNet.Models.LightNet;

/// <summary>
/// Configuration of the language models, read from and written to a Hugging Face <c>config.json</c> with
/// fla's field names (<c>model_type: "lightnet"</c>); unknown keys are ignored on read.
/// </summary>
public sealed record LightNetConfig
{
    /// <summary>Number of token ids V: embedding rows and logits per position.</summary>
    public int VocabSize { get; init; } = 32000;
    /// <summary>Model width c.</summary>
    public int HiddenSize { get; init; } = 1024;
    /// <summary>Number of blocks.</summary>
    public int NumHiddenLayers { get; init; } = 24;
    /// <summary>Attention heads H; null derives them from <see cref="ExpandRatio"/> as c / d (one of the two must be set).</summary>
    public int? NumHeads { get; init; }
    /// <summary>Key head dim d (fla's <c>expand_ratio</c>; <c>head_k_dim</c> is read too); null means c / H.</summary>
    public int? ExpandRatio { get; init; } = 128;
    /// <summary>Rank r of the output gate's low-rank projection <c>g_proj</c> (c → r → c).</summary>
    public int GateLowRankDim { get; init; } = 128;
    /// <summary>MLP width as a multiple of c when <see cref="IntermediateSize"/> is null (fla's rule, see <see cref="Intermediate"/>).</summary>
    public double HiddenRatio { get; init; } = 4;
    /// <summary>MLP width; null derives it from <see cref="HiddenRatio"/>.</summary>
    public int? IntermediateSize { get; init; }
    /// <summary>Eps of the block and final RMSNorms.</summary>
    public double NormEps { get; init; } = 1e-6;
    /// <summary>Reuse the embedding table as the output projection (no <c>lm_head</c>).</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Std of the normal initialisation of the embeddings and <c>lm_head</c>.</summary>
    public double InitializerRange { get; init; } = 0.02;
    /// <summary>Attention scale; null means d^−½ with d the key head dim.</summary>
    public double? AttnScale { get; init; }
    /// <summary>1-D MD-TPE after the embedding (off by default, as in fla).</summary>
    public bool UseTpe { get; init; }
    /// <summary>Width of the MD-TPE relative-position MLP (with <see cref="UseTpe"/>).</summary>
    public int TpeRpeDim { get; init; } = 32;
    /// <summary>Hidden layers of the MD-TPE relative-position MLP (with <see cref="UseTpe"/>).</summary>
    public int TpeRpeLayers { get; init; } = 1;
    /// <summary>1-D MD-LRPE inside attention (off by default, as in fla).</summary>
    public bool UseLrpe { get; init; }
    /// <summary>Frequency base of the MD-LRPE angles (with <see cref="UseLrpe"/>).</summary>
    public double LrpeBase { get; init; } = 10000;
    /// <summary>Token mixer of every block (config key <c>mixer</c>): LightNet attention or a baseline.</summary>
    public MixerKind Mixer { get; init; } = MixerKind.LightNet;
    /// <summary>The tokenizer the model was trained with (<c>byte</c>, <c>gpt2</c>, or <c>tokenizer.json</c>: the Hugging Face file kept in the run directory), or null when unknown.</summary>
    public string? Tokenizer { get; init; }
    /// <summary>Training window length (config key <c>max_position_embeddings</c>): the default evaluation window and the context the baselines re-read when generating; null when unknown.</summary>
    public int? MaxPositionEmbeddings { get; init; }
    /// <summary>Architecture name written to config.json.</summary>
    public string Architecture { get; init; } = "LightNetForCausalLM";

    /// <summary>Attention sizes for a causal or bidirectional layer.</summary>
    public AttentionConfig Attention(bool causal) => AttentionConfig.FromFla(HiddenSize, NumHeads, ExpandRatio, GateLowRankDim, causal, AttnScale);

    /// <summary>MLP width (fla's default when not given).</summary>
    public int Intermediate => IntermediateSize ?? Nn.GatedMlp.DefaultIntermediate(HiddenSize, HiddenRatio);

    private static int? OptInt(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue<int>(out var i) ? i : o[k] is JsonValue d && d.TryGetValue<double>(out var x) ? (int)x : null;
    private static double? OptDouble(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue<double>(out var x) ? x : null;
    private static bool? OptBool(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;
    private static string? OptString(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static int Req(JsonObject o, string k, string file) => OptInt(o, k) ?? throw new InvalidDataException($"{file}: required key '{k}' is missing or not a number");

    /// <summary>Parses a config JSON (config.json or a golden file's config); <paramref name="source"/> names it in errors.</summary>
    public static LightNetConfig FromJson(string json, string source = "config")
    {
        JsonObject o;
        try { o = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source}: not a JSON object"); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: malformed JSON ({e.Message})", e); }
        var arch = o["architectures"] is JsonArray a && a.Count > 0 ? a[0]?.GetValue<string>() : null;
        return new LightNetConfig
        {
            VocabSize = Req(o, "vocab_size", source),
            HiddenSize = Req(o, "hidden_size", source),
            NumHiddenLayers = Req(o, "num_hidden_layers", source),
            NumHeads = OptInt(o, "num_heads"),
            ExpandRatio = o.ContainsKey("expand_ratio") ? OptInt(o, "expand_ratio") : OptInt(o, "head_k_dim"),
            GateLowRankDim = OptInt(o, "gate_low_rank_dim") ?? 128,
            HiddenRatio = OptDouble(o, "hidden_ratio") ?? 4,
            IntermediateSize = OptInt(o, "intermediate_size"),
            NormEps = OptDouble(o, "norm_eps") ?? 1e-6,
            TieWordEmbeddings = OptBool(o, "tie_word_embeddings") ?? false,
            InitializerRange = OptDouble(o, "initializer_range") ?? 0.02,
            AttnScale = OptDouble(o, "attn_scale"),
            UseTpe = OptBool(o, "use_tpe") ?? false,
            TpeRpeDim = OptInt(o, "tpe_rpe_dim") ?? 32,
            TpeRpeLayers = OptInt(o, "tpe_rpe_layers") ?? 1,
            UseLrpe = OptBool(o, "use_lrpe") ?? OptBool(o, "lrpe") ?? false,
            LrpeBase = OptDouble(o, "lrpe_base") ?? 10000,
            Mixer = OptString(o, "mixer") is string m ? MixerKinds.ParseConfig(m, source) : MixerKind.LightNet,
            Tokenizer = OptString(o, "tokenizer"),
            MaxPositionEmbeddings = OptInt(o, "max_position_embeddings"),
            Architecture = arch ?? "LightNetForCausalLM",
        };
    }

    /// <summary>Hugging Face config.json text with fla's field names.</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(Architecture),
            ["model_type"] = "lightnet",
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_heads"] = NumHeads,
            ["expand_ratio"] = ExpandRatio,
            ["gate_low_rank_dim"] = GateLowRankDim,
            ["hidden_ratio"] = HiddenRatio,
            ["intermediate_size"] = IntermediateSize,
            ["hidden_act"] = "swish",
            ["norm_eps"] = NormEps,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["initializer_range"] = InitializerRange,
            ["use_short_conv"] = false,
            ["attn_mode"] = "chunk",
            ["elementwise_affine"] = true,
            ["fuse_cross_entropy"] = false,
            ["use_tpe"] = UseTpe,
            ["tpe_rpe_dim"] = TpeRpeDim,
            ["tpe_rpe_layers"] = TpeRpeLayers,
            ["use_lrpe"] = UseLrpe,
            ["lrpe_base"] = LrpeBase,
            ["dtype"] = "float32",
            ["mixer"] = Mixer.Name(),
        };
        if (Tokenizer != null) o["tokenizer"] = Tokenizer;
        if (MaxPositionEmbeddings is int n) o["max_position_embeddings"] = n;
        if (AttnScale is double s) o["attn_scale"] = s;
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
