using System.Text.Json;
using System.Text.Json.Nodes;

namespace LightNet.Models.LightNet;

/// <summary>
/// Configuration of the causal language model, read from and written to a Hugging Face <c>config.json</c> with
/// fla's field names. A model fla's <c>LightNetForCausalLM</c> computes exactly (see <see cref="FlaGaps"/>) is
/// written as fla's <c>model_type: "lightnet"</c> / <c>LightNetForCausalLM</c>; any other (MD-TPE, MD-LRPE, a
/// baseline mixer, a non-default attention scale) as this engine's own <c>model_type: "lightnet_md"</c> /
/// <c>LightNetMDForCausalLM</c>, so fla never loads it while silently dropping what it does not compute.
/// Both model types are read (run directories written before the split say <c>"lightnet"</c> with
/// <c>use_tpe</c> / <c>use_lrpe</c> and still load).
/// <para>
/// How fla's <c>LightNetConfig</c> keys are read (<see cref="FromJson"/>):
/// <list type="bullet">
/// <item><b>Read</b>: <c>vocab_size</c>, <c>hidden_size</c>, <c>num_hidden_layers</c>, <c>num_heads</c>,
/// <c>expand_ratio</c>, <c>gate_low_rank_dim</c>, <c>hidden_ratio</c>, <c>intermediate_size</c>, <c>norm_eps</c>,
/// <c>tie_word_embeddings</c> (supported: no <c>lm_head</c>), <c>initializer_range</c>,
/// <c>max_position_embeddings</c> (the default evaluation window here; fla uses it only for hybrid attention
/// layers, which are refused).</item>
/// <item><b>Implemented</b>: <c>use_short_conv</c> with <c>conv_size</c> (fla's causal depthwise convolution of the
/// projected q, k and v: <see cref="UseShortConv"/>; such a model generates by re-reading its context).</item>
/// <item><b>Refused when they change the math</b> (the error names the key): <c>hidden_act</c> other than <c>swish</c> / <c>silu</c> (the MLP is SwiGLU); <c>elementwise_affine</c> other
/// than true (the output norm <c>g_norm</c> always has a weight here); <c>attn</c> not null (hybrid softmax
/// attention layers); <c>attnres_block_size</c> not null (fla's attention residuals); a <c>model_type</c>
/// other than <c>lightnet</c> / <c>lightnet_md</c>.</item>
/// <item><b>Accepted, no effect on the logits</b>: <c>attn_mode</c> (chunk / fused_chunk / fused_recurrent:
/// kernel choice), <c>fuse_norm</c>, <c>fuse_swiglu</c>, <c>fuse_cross_entropy</c>,
/// <c>fuse_linear_cross_entropy</c> (fused kernels of the same math), <c>use_l2warp</c> (fla's training-time extra gradient on the largest logit: the
/// logits and the loss value are unchanged, and this engine never trains from a loaded config.json),
/// <c>pad_token_id</c> (the embedding's padding row only masks its gradient), <c>bos_token_id</c>,
/// <c>eos_token_id</c>, <c>use_cache</c>, <c>dtype</c> / <c>torch_dtype</c> (weights of any float type are
/// converted on load) and the generic Hugging Face keys (<c>id2label</c>, <c>return_dict</c>, …).</item>
/// <item><b>This engine's own keys</b>: <c>use_tpe</c>, <c>tpe_rpe_dim</c>, <c>tpe_rpe_layers</c>,
/// <c>use_lrpe</c> (older: <c>lrpe</c>), <c>lrpe_base</c>, <c>mixer</c>, <c>attn_scale</c>, <c>head_k_dim</c>
/// (alias of <c>expand_ratio</c>), <c>tokenizer</c>.</item>
/// </list>
/// Other unknown keys are ignored.
/// </para>
/// </summary>
public sealed record LightNetConfig
{
    /// <summary>fla's <c>model_type</c>, written only for models fla computes exactly.</summary>
    public const string FlaModelType = "lightnet";
    /// <summary>This engine's <c>model_type</c> for models fla cannot reproduce.</summary>
    public const string OwnModelType = "lightnet_md";
    /// <summary>fla's architecture name.</summary>
    public const string FlaArchitecture = "LightNetForCausalLM";
    /// <summary>This engine's architecture name for models fla cannot reproduce.</summary>
    public const string OwnArchitecture = "LightNetMDForCausalLM";

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
    /// <summary>fla's short convolution (config key <c>use_short_conv</c>): causal depthwise convolutions of the projected q, k and v over <see cref="ConvSize"/> tokens (LightNet mixer only).</summary>
    public bool UseShortConv { get; init; }
    /// <summary>Taps of the short convolution (config key <c>conv_size</c>, fla's default 4); used with <see cref="UseShortConv"/>.</summary>
    public int ConvSize { get; init; } = 4;
    /// <summary>Token mixer of every block (config key <c>mixer</c>): LightNet attention or a baseline.</summary>
    public MixerKind Mixer { get; init; } = MixerKind.LightNet;
    /// <summary>The tokenizer the model was trained with (<c>byte</c>, <c>gpt2</c>, or <c>tokenizer.json</c>: the Hugging Face file kept in the run directory), or null when unknown.</summary>
    public string? Tokenizer { get; init; }
    /// <summary>Training window length (config key <c>max_position_embeddings</c>): the default evaluation window and the context the baselines re-read when generating; null when unknown.</summary>
    public int? MaxPositionEmbeddings { get; init; }
    /// <summary>Architecture name written to config.json: fla's <c>LightNetForCausalLM</c> when <see cref="IsFlaModel"/>, else <c>LightNetMDForCausalLM</c>.</summary>
    public string Architecture => IsFlaModel ? FlaArchitecture : OwnArchitecture;

    /// <summary><c>model_type</c> written to config.json: fla's <c>lightnet</c> when <see cref="IsFlaModel"/>, else <c>lightnet_md</c>.</summary>
    public string ModelType => IsFlaModel ? FlaModelType : OwnModelType;

    /// <summary>True when fla's <c>LightNetForCausalLM</c> computes exactly this model (<see cref="FlaGaps"/> is empty).</summary>
    public bool IsFlaModel => FlaGaps().Count == 0;

    /// <summary>
    /// What this model computes that fla's <c>LightNetForCausalLM</c> does not, one sentence each (empty when fla
    /// reproduces its logits): MD-TPE, MD-LRPE, a mixer other than LightNet attention, an attention scale other
    /// than d^−½.
    /// </summary>
    public IReadOnlyList<string> FlaGaps()
    {
        var gaps = new List<string>();
        if (UseTpe) gaps.Add("model.tpe.* (MD-TPE, use_tpe) is not part of fla's LightNetForCausalLM");
        if (UseLrpe) gaps.Add("MD-LRPE (use_lrpe) is not part of fla's LightNetAttention");
        if (Mixer != MixerKind.LightNet) gaps.Add($"mixer '{Mixer.Name()}' is not part of fla's LightNetForCausalLM (LightNet attention in every layer)");
        if (AttnScale is double s)
        {
            double d = Attention(causal: true).HeadKDim;
            if (Math.Abs(s - 1 / Math.Sqrt(d)) > 1e-12 / Math.Sqrt(d))
                gaps.Add($"attn_scale {s} is not part of fla's LightNetAttention (it always scales by d^-1/2 = {1 / Math.Sqrt(d)})");
        }
        return gaps;
    }

    /// <summary>Attention sizes for a causal or bidirectional layer.</summary>
    public AttentionConfig Attention(bool causal) =>
        AttentionConfig.FromFla(HiddenSize, NumHeads, ExpandRatio, GateLowRankDim, causal, AttnScale) with { ConvSize = UseShortConv ? ConvSize : 0 };

    /// <summary>MLP width (fla's default when not given).</summary>
    public int Intermediate => IntermediateSize ?? Nn.GatedMlp.DefaultIntermediate(HiddenSize, HiddenRatio);

    /// <summary>Parses a config JSON (config.json or a golden file's config); <paramref name="source"/> names it in errors.</summary>
    public static LightNetConfig FromJson(string json, string source = "config")
    {
        var o = ConfigJson.ParseObject(json, source);
        RefuseUnsupported(o, source);
        var c = ConfigJson.Of(o, source);
        var cfg = new LightNetConfig
        {
            VocabSize = c.Int("vocab_size"),
            HiddenSize = c.Int("hidden_size"),
            NumHiddenLayers = c.Int("num_hidden_layers"),
            NumHeads = c.OptInt("num_heads"),
            ExpandRatio = o.ContainsKey("expand_ratio") ? c.OptInt("expand_ratio") : c.OptInt("head_k_dim"),
            GateLowRankDim = c.OptInt("gate_low_rank_dim") ?? 128,
            HiddenRatio = c.OptDouble("hidden_ratio") ?? 4,
            IntermediateSize = c.OptInt("intermediate_size"),
            NormEps = c.OptDouble("norm_eps") ?? 1e-6,
            TieWordEmbeddings = c.OptBool("tie_word_embeddings") ?? false,
            InitializerRange = c.OptDouble("initializer_range") ?? 0.02,
            AttnScale = c.OptDouble("attn_scale"),
            UseTpe = c.OptBool("use_tpe") ?? false,
            TpeRpeDim = c.OptInt("tpe_rpe_dim") ?? 32,
            TpeRpeLayers = c.OptInt("tpe_rpe_layers") ?? 1,
            UseLrpe = c.OptBool("use_lrpe") ?? c.OptBool("lrpe") ?? false,
            LrpeBase = c.OptDouble("lrpe_base") ?? 10000,
            UseShortConv = c.OptBool("use_short_conv") ?? false,
            ConvSize = c.OptInt("conv_size") ?? 4,
            Mixer = c.OptString("mixer") is string m ? MixerKinds.ParseConfig(m, source) : MixerKind.LightNet,
            Tokenizer = c.OptString("tokenizer"),
            MaxPositionEmbeddings = c.OptInt("max_position_embeddings"),
        };
        cfg.Validate(source);
        return cfg;
    }

    /// <summary>Range checks of a config read from a file (see <see cref="ConfigChecks"/>); each failure names the file and the key.</summary>
    private void Validate(string source)
    {
        var k = new ConfigChecks(source);
        k.Size("vocab_size", VocabSize);
        k.Size("hidden_size", HiddenSize);
        k.Size("num_hidden_layers", NumHiddenLayers);
        k.Attention(HiddenSize, NumHeads, ExpandRatio, "expand_ratio");
        k.Size("gate_low_rank_dim", GateLowRankDim);
        k.Intermediate(HiddenSize, IntermediateSize, HiddenRatio);
        k.Positive("norm_eps", NormEps);
        k.Finite("initializer_range", InitializerRange);
        if (InitializerRange < 0) throw k.Error("initializer_range", $"is {InitializerRange}, must be ≥ 0");
        if (AttnScale is double s) k.Finite("attn_scale", s);
        if (UseTpe) { k.Size("tpe_rpe_dim", TpeRpeDim); k.Size("tpe_rpe_layers", TpeRpeLayers, 1, 1024); }
        if (UseLrpe) k.Positive("lrpe_base", LrpeBase);
        if (UseShortConv) k.Size("conv_size", ConvSize, 1, 1024);
        if (MaxPositionEmbeddings is int n) k.Size("max_position_embeddings", n, 1, int.MaxValue);
        var att = Attention(causal: true);
        double c = HiddenSize;
        k.Parameters(VocabSize * c * (TieWordEmbeddings ? 1 : 2)
                     + NumHiddenLayers * ConfigChecks.BlockParameters(c, (double)att.NumHeads * att.HeadKDim, GateLowRankDim, Intermediate));
    }

    /// <summary>
    /// Refuses the fla settings that change the model's math and are not implemented (see the type's remarks),
    /// each with an <see cref="InvalidDataException"/> naming the key.
    /// </summary>
    private static void RefuseUnsupported(JsonObject o, string source)
    {
        InvalidDataException No(string key, string why) => new($"{source}: config key '{key}' {why}; this engine cannot load the model");
        bool Present(string k, out JsonNode? v) => o.TryGetPropertyValue(k, out v);
        if (Present("model_type", out var mt) && mt is not null
            && !(mt is JsonValue mv && ConfigJson.TryString(mv, out var m) && m is FlaModelType or OwnModelType))
            throw No("model_type", $"is {ConfigJson.Show(mt)}, not \"{FlaModelType}\" (fla's LightNetForCausalLM) or \"{OwnModelType}\" (this engine's)");
        if (Present("use_short_conv", out var sc) && sc is not null && !(sc is JsonValue scv && scv.TryGetValue<bool>(out _)))
            throw No("use_short_conv", "must be true or false");
        var c = ConfigJson.Of(o, source);
        if (c.OptBool("use_short_conv") == true && !(c.OptInt("conv_size") is null or >= 1))
            throw No("conv_size", $"is {ConfigJson.Show(o["conv_size"])}: the short convolution needs at least one tap");
        if (Present("hidden_act", out var act) && !(act is JsonValue av && ConfigJson.TryString(av, out var a) && a is "swish" or "silu"))
            throw No("hidden_act", $"is {ConfigJson.Show(act)}: only swish / silu (the SwiGLU MLP) is implemented");
        if (Present("elementwise_affine", out var ea) && !(ea is JsonValue ev && ev.TryGetValue<bool>(out var affine) && affine))
            throw No("elementwise_affine", $"is {ConfigJson.Show(ea)}: the attention output norm g_norm without a weight is not implemented");
        if (Present("attn", out var hybrid) && hybrid is not null)
            throw No("attn", "is set: fla's hybrid softmax-attention layers are not implemented");
        if (Present("attnres_block_size", out var ar) && ar is not null)
            throw No("attnres_block_size", "is set: fla's attention residuals (attnres) are not implemented");
    }

    /// <summary>
    /// Hugging Face config.json text with fla's field names plus this engine's own keys; <c>model_type</c> and
    /// <c>architectures</c> are fla's only when <see cref="IsFlaModel"/> (else <c>lightnet_md</c> /
    /// <c>LightNetMDForCausalLM</c>).
    /// </summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(Architecture),
            ["model_type"] = ModelType,
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
            ["use_short_conv"] = UseShortConv,
            ["conv_size"] = ConvSize,
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
    /// <summary>
    /// config.json in fla's exact form (every field of fla's <c>LightNetConfig</c>, <c>model_type: "lightnet"</c>,
    /// <c>architectures: ["LightNetForCausalLM"]</c>, <c>dtype: "float32"</c>, none of this engine's own keys);
    /// throws <see cref="InvalidOperationException"/> listing <see cref="FlaGaps"/> when fla cannot compute the model.
    /// </summary>
    public string ToFlaJson()
    {
        var gaps = FlaGaps();
        if (gaps.Count > 0) throw new InvalidOperationException($"export fla: fla cannot compute this model: {string.Join("; ", gaps)}");
        var att = Attention(causal: true);
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(FlaArchitecture),
            ["model_type"] = FlaModelType,
            ["attn"] = null,
            ["attn_mode"] = "chunk",
            ["attnres_block_size"] = null,
            ["bos_token_id"] = 1,
            ["conv_size"] = ConvSize,
            ["dtype"] = "float32",
            ["elementwise_affine"] = true,
            ["eos_token_id"] = 2,
            ["expand_ratio"] = att.HeadKDim,
            ["fuse_cross_entropy"] = false,
            ["fuse_linear_cross_entropy"] = false,
            ["fuse_norm"] = true,
            ["fuse_swiglu"] = true,
            ["gate_low_rank_dim"] = GateLowRankDim,
            ["hidden_act"] = "swish",
            ["hidden_ratio"] = HiddenRatio,
            ["hidden_size"] = HiddenSize,
            ["initializer_range"] = InitializerRange,
            ["intermediate_size"] = Intermediate,
            ["max_position_embeddings"] = MaxPositionEmbeddings ?? 2048,
            ["norm_eps"] = NormEps,
            ["num_heads"] = att.NumHeads,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["pad_token_id"] = null,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["use_cache"] = true,
            ["use_l2warp"] = false,
            ["use_short_conv"] = UseShortConv,
            ["vocab_size"] = VocabSize,
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
