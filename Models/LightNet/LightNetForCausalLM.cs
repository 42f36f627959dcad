using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>
/// fla-compatible LightNet causal language model (SPEC §6.1): <c>model.embeddings</c> → causal blocks
/// <c>model.layers.{i}</c> → <c>model.norm</c> → <c>lm_head</c>. Loss: mean cross-entropy of position t
/// predicting token t+1. Decoding carries one recurrent state per layer (O(1) memory per token).
/// </summary>
public sealed class LightNetForCausalLM : Module
{
    private readonly Trunk _model;

    /// <summary>The <c>model.</c> sub-module: embeddings, blocks and final norm.</summary>
    private sealed class Trunk : Module
    {
        public Trunk(LightNetConfig cfg, Generator gen, DType dtype)
        {
            Embeddings = Child("embeddings", new Embedding(cfg.VocabSize, cfg.HiddenSize, gen, cfg.InitializerRange, dtype));
            var attn = cfg.Attention(causal: true);
            Layers = new LightNetBlock[cfg.NumHiddenLayers];
            for (int i = 0; i < Layers.Length; i++) Layers[i] = Child($"layers.{i}", new LightNetBlock(attn, cfg.Intermediate, cfg.NormEps, gen, dtype));
            Norm = Child("norm", new RmsNorm(cfg.HiddenSize, cfg.NormEps, dtype: dtype));
        }

        public Embedding Embeddings { get; }
        public LightNetBlock[] Layers { get; }
        public RmsNorm Norm { get; }
    }

    public LightNetForCausalLM(LightNetConfig config, Generator? gen = null, DType dtype = DType.Float32)
    {
        Config = config;
        var g = gen ?? new Generator(0);
        _model = Child("model", new Trunk(config, g, dtype));
        if (!config.TieWordEmbeddings) LmHead = Child("lm_head", new Linear(config.HiddenSize, config.VocabSize, false, g, config.InitializerRange, dtype));
    }

    public LightNetConfig Config { get; }
    public Linear? LmHead { get; }

    private Variable Head(Variable h) => LmHead != null ? LmHead.Forward(h) : Variable.Matmul(h, _model.Embeddings.Weight.Transpose());

    /// <summary>Logits [B, T, V] for int64 ids [B, T]; an optional padding mask [B, T] (1 = token).</summary>
    public Variable Forward(Tensor ids, Tensor? attentionMask = null) => Forward(ids, attentionMask, null).Logits;

    /// <summary>Logits and the per-layer states after the last token (to continue decoding).</summary>
    public (Variable Logits, AdditiveState[] States) Forward(Tensor ids, Tensor? attentionMask, AdditiveState[]? states)
    {
        if (ids.Rank != 2 || ids.DType != DType.Int64) throw new ShapeException($"causal_lm: 'input_ids' must be int64 [B, T], got {ids.DType.Name()} {ids.Shape}");
        var h = _model.Embeddings.Forward(ids);
        var next = new AdditiveState[_model.Layers.Length];
        for (int i = 0; i < _model.Layers.Length; i++)
        {
            var (hh, st) = _model.Layers[i].Forward(h, attentionMask, null, states?[i]);
            h = hh;
            next[i] = st!;
        }
        return (Head(_model.Norm.Forward(h)), next);
    }

    /// <summary>Mean cross-entropy of each position predicting the next token (the last position ignored; masked targets ignored).</summary>
    public static Variable ShiftedLoss(Variable logits, Tensor ids, Tensor? attentionMask = null)
    {
        int B = logits.Size(0), T = logits.Size(1), V = logits.Size(2);
        var l = logits.Narrow(1, 0, T - 1).Reshape(B * (T - 1), V);
        var targets = ids.Narrow(1, 1, T - 1).Contiguous().Reshape(B * (T - 1));
        if (attentionMask != null)
        {
            using var m = attentionMask.Narrow(1, 1, T - 1).Contiguous().Reshape(B * (T - 1)).To(DType.Float64);
            var mv = m.ToArray<double>();
            var tv = targets.ToArray<long>();
            for (int i = 0; i < tv.Length; i++) if (mv[i] == 0) tv[i] = -100;
            targets = Tensor.FromArray(tv);
        }
        return Variable.CrossEntropy(l, targets);
    }

    /// <summary>Next-token loss of a batch.</summary>
    public Variable Loss(Tensor ids, Tensor? attentionMask = null) => ShiftedLoss(Forward(ids, attentionMask), ids, attentionMask);
}
