using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>
/// fla-compatible LightNet causal language model (SPEC §6.1): <c>model.embeddings</c> → causal blocks
/// <c>model.layers.{i}</c> → <c>model.norm</c> → <c>lm_head</c>. Loss: mean cross-entropy of position t
/// predicting token t+1. Decoding carries one recurrent state per layer (O(1) memory per token). The blocks'
/// mixer is LightNet attention or, for baselines, GLA-style decay or softmax attention (<see cref="LightNetConfig.Mixer"/>).
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
            if (cfg.UseTpe) Tpe = Child("tpe", new MdTpeModule(1, cfg.HiddenSize, cfg.TpeRpeDim, cfg.TpeRpeLayers, 1e-6, causal: true, residual: true, gen, dtype));
            var attn = cfg.Attention(causal: true);
            Layers = new LightNetBlock[cfg.NumHiddenLayers];
            for (int i = 0; i < Layers.Length; i++) Layers[i] = Child($"layers.{i}", new LightNetBlock(attn, cfg.Intermediate, cfg.NormEps, gen, dtype, cfg.Mixer));
            Norm = Child("norm", new RmsNorm(cfg.HiddenSize, cfg.NormEps, dtype: dtype));
        }

        public Embedding Embeddings { get; }
        public MdTpeModule? Tpe { get; }
        public LightNetBlock[] Layers { get; }
        public RmsNorm Norm { get; }
    }

    /// <summary>Builds the model with weights from <paramref name="gen"/> (seed 0 when null).</summary>
    public LightNetForCausalLM(LightNetConfig config, Generator? gen = null, DType dtype = DType.Float32)
    {
        if (config.UseShortConv && config.Mixer != MixerKind.LightNet)
            throw new NotSupportedException($"causal_lm: use_short_conv is fla's convolution inside LightNet attention; the {config.Mixer.Name()} mixer has none");
        Config = config;
        var g = gen ?? new Generator(0);
        _model = Child("model", new Trunk(config, g, dtype));
        if (!config.TieWordEmbeddings) LmHead = Child("lm_head", new Linear(config.HiddenSize, config.VocabSize, false, g, config.InitializerRange, dtype));
    }

    private readonly LrpeAngleCache _angles = new();

    /// <summary>Sizes the model was built with.</summary>
    public LightNetConfig Config { get; }
    /// <summary>Output projection c → V (<c>lm_head</c>); null when the embeddings are tied.</summary>
    public Linear? LmHead { get; }

    private Variable Head(Variable h) => LmHead != null ? LmHead.Forward(h) : Variable.Matmul(h, _model.Embeddings.Weight.Transpose());

    /// <summary>Logits [B, T, V] for int64 ids [B, T]; an optional padding mask [B, T] (1 = token).</summary>
    public Variable Forward(Tensor ids, Tensor? attentionMask = null) => Forward(ids, attentionMask, null).Logits;

    /// <summary>
    /// Logits and the per-layer states after the last token (to continue decoding). <paramref name="offset"/>
    /// is the position of the first token (the number of tokens already decoded), used by MD-LRPE.
    /// </summary>
    public (Variable Logits, AdditiveState[] States) Forward(Tensor ids, Tensor? attentionMask, AdditiveState[]? states, int offset = 0)
    {
        if (ids.Rank != 2 || ids.DType != DType.Int64) throw new ShapeException($"causal_lm: 'input_ids' must be int64 [B, T], got {ids.DType.Name()} {ids.Shape}");
        if ((states != null || offset != 0) && Config.Mixer != MixerKind.LightNet)
            throw new NotSupportedException($"causal_lm: the {Config.Mixer.Name()} mixer has no recurrent state; run Forward on the full sequence");
        if ((states != null || offset != 0) && Config.UseShortConv)
            throw new NotSupportedException("causal_lm: decoding from a state is not available with use_short_conv (the convolution's window is not carried); run Forward on the full sequence");
        if (states != null && states.Length != _model.Layers.Length) throw new ShapeException($"causal_lm: {states.Length} states given for {_model.Layers.Length} layers");
        int T = ids.Size(1);
        var h = _model.Embeddings.Forward(ids);
        if (_model.Tpe != null)
        {
            if (states != null || offset != 0)
                throw new NotSupportedException("causal_lm: decoding from a state is not available with use_tpe (the Toeplitz encoding needs the whole prefix); run Forward on the full sequence");
            h = _model.Tpe.Forward(h, [T]);
        }
        var lrpe = Config.UseLrpe ? _angles.Get([offset + T], Config.Attention(true).HeadKDim, Config.LrpeBase, h.DType, h.Device, offset, T) : null;
        var next = new AdditiveState[_model.Layers.Length];
        for (int i = 0; i < _model.Layers.Length; i++)
        {
            var (hh, st) = _model.Layers[i].Forward(h, attentionMask, lrpe, states?[i]);
            h = hh;
            next[i] = st!;
        }
        return (Head(_model.Norm.Forward(h)), next);
    }

    /// <summary>
    /// Mean cross-entropy of each position predicting the next token (the last position ignored; masked targets ignored).
    /// The logits are used in place ([B·T, V] view, no copy): the last position of each row gets the ignore target.
    /// </summary>
    public static Variable ShiftedLoss(Variable logits, Tensor ids, Tensor? attentionMask = null)
    {
        int B = logits.Size(0), T = logits.Size(1), V = logits.Size(2);
        if (ids.Rank != 2 || ids.Size(0) != B || ids.Size(1) != T)
            throw new ShapeException($"causal_lm_loss: 'ids' {ids.Shape} must be [B, T] = [{B}, {T}] for logits {logits.Shape}");
        Tensor targets;
        using (var next = ids.Narrow(1, 1, T - 1))
        using (var last = Tensor.Full([B, 1], IgnoreIndex, ids.DType, ids.Device))
        using (var shifted = Tensor.Concat([next, last], 1))
            targets = shifted.Reshape(B * T);
        if (attentionMask != null)
        {
            if (attentionMask.Shape != ids.Shape)
                throw new ShapeException($"causal_lm_loss: 'attentionMask' {attentionMask.Shape} must be [B, T] = [{B}, {T}] like ids");
            using var m = attentionMask.To(DType.Float64);
            var mv = m.ToArray<double>();
            var tv = targets.ToArray<long>();
            targets.Dispose();
            for (int b = 0; b < B; b++)
                for (int t = 0; t + 1 < T; t++)
                    if (mv[b * T + t + 1] == 0) tv[b * T + t] = IgnoreIndex;
            targets = Tensor.FromArray(tv, [B * T], ids.Device);
        }
        return Variable.CrossEntropy(logits.Reshape(B * T, V), targets, IgnoreIndex);
    }

    /// <summary>Target id that the loss skips.</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Forward pass and <see cref="ShiftedLoss"/> on token ids [B, T].</summary>
    public Variable Loss(Tensor ids, Tensor? attentionMask = null) => ShiftedLoss(Forward(ids, attentionMask), ids, attentionMask);

    /// <summary>
    /// Autoregressive generation: greedy when <paramref name="temperature"/> is 0, else sampling from
    /// softmax(logits / temperature), restricted to the <paramref name="topK"/> most likely tokens when given.
    /// Seeded and reproducible. LightNet carries one recurrent state per layer (O(1) memory per token); with
    /// TPE (which needs the whole prefix), with the short convolution and with the baseline mixers the model re-reads the last <paramref name="context"/> tokens (all when null) at every step.
    /// Returns prompt + new tokens.
    /// </summary>
    public long[][] Generate(long[][] prompts, int maxNewTokens, double temperature = 0, int? topK = null, ulong seed = 0, int? context = null)
    {
        if (prompts.Length == 0 || prompts.Any(p => p.Length == 0 || p.Length != prompts[0].Length))
            throw new ArgumentException("generate: prompts must be non-empty and of equal length");
        if (temperature < 0) throw new ArgumentOutOfRangeException(nameof(temperature), "generate: temperature must be ≥ 0");
        if (context is <= 0) throw new ArgumentOutOfRangeException(nameof(context), "generate: context must be positive");
        int B = prompts.Length, P = prompts[0].Length;
        bool recurrent = Config.Mixer == MixerKind.LightNet && !Config.UseTpe && !Config.UseShortConv;
        var outSeq = prompts.Select(p => p.ToList()).ToArray();
        var rng = new Generator(seed);
        using var ng = NoGrad.Scope();
        AdditiveState[]? states = null;
        long[] feed = [.. prompts.SelectMany(p => p)];
        int offset = 0, len = P;
        for (int step = 0; step < maxNewTokens; step++)
        {
            using var scope = DisposalScope.Begin();
            Variable logits;
            if (recurrent)
            {
                AdditiveState[] next;
                (logits, next) = Forward(Tensor.FromArray(feed, [B, len]), null, states, offset);
                foreach (var st in next) { scope.Keep(st.S.Data); scope.Keep(st.Z.Data); }
                if (states != null) foreach (var st in states) { st.S.Data.Dispose(); st.Z.Data.Dispose(); }
                states = next;
                offset += len;
            }
            else
            {
                len = Math.Min(outSeq[0].Count, context ?? int.MaxValue);
                long[] window = [.. outSeq.SelectMany(l => l.Skip(l.Count - len))];
                logits = Forward(Tensor.FromArray(window, [B, len]));
            }
            var last = logits.Data.Select(1, len - 1).ToDoubleArray();
            int V = logits.Size(2);
            feed = new long[B];
            for (int b = 0; b < B; b++)
            {
                var row = new ReadOnlySpan<double>(last, b * V, V);
                feed[b] = Sample(row, temperature, topK, rng);
                outSeq[b].Add(feed[b]);
            }
            len = 1;
        }
        if (states != null) foreach (var st in states) { st.S.Data.Dispose(); st.Z.Data.Dispose(); }
        return outSeq.Select(l => l.ToArray()).ToArray();
    }

    private static long Sample(ReadOnlySpan<double> logits, double temperature, int? topK, Generator rng)
    {
        int V = logits.Length;
        if (temperature == 0)
        {
            int best = 0;
            for (int i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }
        var idx = Enumerable.Range(0, V).ToArray();
        var vals = logits.ToArray();
        Array.Sort(vals.Select(v => -v).ToArray(), idx);
        int k = Math.Clamp(topK ?? V, 1, V);
        double max = logits[idx[0]];
        var w = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) { w[i] = Math.Exp((logits[idx[i]] - max) / temperature); sum += w[i]; }
        double u = Generator.Uniform(rng.Seed, rng.Advance(1)) * sum;
        for (int i = 0; i < k; i++) { u -= w[i]; if (u <= 0) return idx[i]; }
        return idx[k - 1];
    }
}
