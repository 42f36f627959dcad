using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>Configuration of <see cref="LightNetForMaskedLM"/> (golden-file key names).</summary>
public sealed record MaskedLMConfig : TrunkConfig
{
    /// <summary>Defaults of this model.</summary>
    public MaskedLMConfig()
    {
        HiddenSize = 256;
        NumHiddenLayers = 4;
        NumHeads = 4;
    }

    /// <summary>Number of token ids V, special tokens included: embedding rows and logits per position.</summary>
    public int VocabSize { get; init; } = 259;
    /// <summary>Reuse the embedding table as the output projection (no <c>lm_head</c>).</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Id written over masked input positions (config key <c>mask_token_id</c>).</summary>
    public long MaskTokenId { get; init; } = 258;
    /// <summary>Token mixer of every block: LightNet attention or the 2-scan GLA baseline (config key <c>mixer</c>).</summary>
    public MixerKind Mixer { get; init; } = MixerKind.LightNet;
    /// <summary>The tokenizer the model was trained with (<c>byte</c>, <c>gpt2</c>, or <c>tokenizer.json</c>: the Hugging Face file kept in the run directory), or null when unknown.</summary>
    public string? Tokenizer { get; init; }
    /// <summary>Training window length (the default evaluation window), or null when unknown.</summary>
    public int? MaxPositionEmbeddings { get; init; }

    /// <summary>The mixers a bidirectional masked LM can use.</summary>
    public static IReadOnlyList<MixerKind> MaskedMixers { get; } = [MixerKind.LightNet, MixerKind.Gla];

    /// <summary>Reads a config.json or golden-file config (a missing required key is an error naming it).</summary>
    public static MaskedLMConfig FromJson(string json, string source = "config")
    {
        var c = ConfigJson.Parse(json, source);
        return ReadTrunk(c, new MaskedLMConfig
        {
            VocabSize = c.Int("vocab_size"),
            TieWordEmbeddings = c.OptBool("tie_word_embeddings") ?? false,
            MaskTokenId = c.OptInt("mask_token_id") ?? 0,
            Mixer = c.OptString("mixer") is string m ? MixerKinds.ParseConfig(m, source, MaskedMixers) : MixerKind.LightNet,
            Tokenizer = c.OptString("tokenizer"),
            MaxPositionEmbeddings = c.OptInt("max_position_embeddings"),
        }, normEpsRequired: true);
    }

    private protected override void Validate(ConfigChecks k)
    {
        base.Validate(k);
        k.Size("vocab_size", VocabSize);
        k.Size("mask_token_id", MaskTokenId, 0, VocabSize - 1);
        if (MaxPositionEmbeddings is int n) k.Size("max_position_embeddings", n, 1, int.MaxValue);
        k.Parameters((double)VocabSize * HiddenSize * (TieWordEmbeddings ? 1 : 2) + BlockParameters());
    }
}

/// <summary>
/// Bidirectional LightNet masked LM (SPEC §6.2): <c>model.embeddings</c> → 1-D MD-TPE (<c>model.tpe.</c>) →
/// non-causal blocks with 1-D MD-LRPE → <c>model.norm</c> → <c>lm_head</c>. Loss on masked positions only
/// (labels −100 elsewhere).
/// </summary>
public sealed class LightNetForMaskedLM : Module
{
    private readonly Trunk _model;
    private readonly LrpeAngleCache _angles = new();

    private sealed class Trunk : Module
    {
        public Trunk(MaskedLMConfig cfg, Generator g, DType dtype)
        {
            Embeddings = Child("embeddings", new Embedding(cfg.VocabSize, cfg.HiddenSize, g, dtype: dtype));
            if (cfg.Tpe) Tpe = Child("tpe", new MdTpeModule(1, cfg.HiddenSize, cfg.TpeRpeDim, cfg.TpeRpeLayers, cfg.TpeRmsNormEps, false, cfg.TpeResidual, g, dtype));
            Layers = new LightNetBlock[cfg.NumHiddenLayers];
            for (int i = 0; i < Layers.Length; i++) Layers[i] = Child($"layers.{i}", new LightNetBlock(cfg.Attention, cfg.Intermediate, cfg.NormEps, g, dtype, cfg.Mixer));
            Norm = Child("norm", new RmsNorm(cfg.HiddenSize, cfg.NormEps, dtype: dtype));
        }

        public Embedding Embeddings { get; }
        public MdTpeModule? Tpe { get; }
        public LightNetBlock[] Layers { get; }
        public RmsNorm Norm { get; }
    }

    /// <summary>Builds the model with weights from <paramref name="gen"/> (seed 0 when null).</summary>
    public LightNetForMaskedLM(MaskedLMConfig cfg, Generator? gen = null, DType dtype = DType.Float32)
    {
        Config = cfg;
        var g = gen ?? new Generator(0);
        _model = Child("model", new Trunk(cfg, g, dtype));
        if (!cfg.TieWordEmbeddings) LmHead = Child("lm_head", new Linear(cfg.HiddenSize, cfg.VocabSize, false, g, dtype: dtype));
    }

    /// <summary>Sizes the model was built with.</summary>
    public MaskedLMConfig Config { get; }
    /// <summary>Output projection c → V (<c>lm_head</c>); null when the embeddings are tied.</summary>
    public Linear? LmHead { get; }

    /// <summary>Logits [B, T, V] for ids [B, T] with an optional padding mask.</summary>
    public Variable Forward(Tensor ids, Tensor? attentionMask = null)
    {
        if (ids.Rank != 2 || ids.DType != DType.Int64) throw new ShapeException($"masked_lm: 'input_ids' must be int64 [B, T], got {ids.DType.Name()} {ids.Shape}");
        int T = ids.Size(1);
        var h = _model.Embeddings.Forward(ids);
        if (attentionMask != null)
        {
            // Pads must not leak into real tokens through the Toeplitz mixing: zero their embeddings first.
            var m = attentionMask.To(h.DType).Reshape(ids.Size(0), T, 1);
            h = h * new Variable(m);
        }
        if (_model.Tpe != null) h = _model.Tpe.Forward(h, [T]);
        var lrpe = Config.Lrpe ? _angles.Get([T], Config.Attention.HeadKDim, Config.LrpeBase, h.DType, h.Device) : null;
        foreach (var layer in _model.Layers) h = layer.Forward(h, attentionMask, lrpe).H;
        h = _model.Norm.Forward(h);
        return LmHead != null ? LmHead.Forward(h) : Variable.Matmul(h, _model.Embeddings.Weight.Transpose());
    }

    /// <summary>Mean cross-entropy over positions whose label is not −100.</summary>
    public Variable Loss(Tensor ids, Tensor labels, Tensor? attentionMask = null)
    {
        var logits = Forward(ids, attentionMask);
        int B = ids.Size(0), T = ids.Size(1);
        return Variable.CrossEntropy(logits.Reshape(B * T, -1), labels.Reshape(B * T));
    }
}
