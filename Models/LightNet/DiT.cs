using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>Configuration of <see cref="LightNetDiT"/> (golden-file key names).</summary>
public sealed record DiTConfig : TrunkConfig
{
    /// <summary>Defaults of this model.</summary>
    public DiTConfig()
    {
        HiddenSize = 192;
        NumHiddenLayers = 6;
        NumHeads = 3;
    }

    /// <summary>Image channels C.</summary>
    public int InChannels { get; init; } = 1;
    /// <summary>Image height H in pixels (a multiple of <see cref="PatchSize"/>).</summary>
    public int ImageHeight { get; init; } = 28;
    /// <summary>Image width W in pixels (a multiple of <see cref="PatchSize"/>).</summary>
    public int ImageWidth { get; init; } = 28;
    /// <summary>Side p of the square patches that become tokens.</summary>
    public int PatchSize { get; init; } = 2;
    /// <summary>Number of class labels; <see cref="NullClassId"/> is one more.</summary>
    public int NumClasses { get; init; } = 10;
    /// <summary>Width of the sinusoidal timestep features fed to <c>t_embed.mlp.0</c> (even).</summary>
    public int TimestepEmbeddingDim { get; init; } = 256;
    /// <summary>Number of diffusion steps T of the linear β schedule.</summary>
    public int DiffusionSteps { get; init; } = 1000;
    /// <summary>β of the first step; β rises linearly to <see cref="BetaEnd"/>.</summary>
    public double BetaStart { get; init; } = 1e-4;
    /// <summary>β of the last step.</summary>
    public double BetaEnd { get; init; } = 0.02;
    /// <summary>
    /// Token mixer of every block (config key <c>mixer</c>; absent in older configs: lightnet): LightNet attention, the
    /// GLA baseline's 4 directional scans on the patch grid, or full softmax attention with 2-D rotary positions. The
    /// baselines run without MD-LRPE (set <see cref="TrunkConfig.Lrpe"/> false).
    /// </summary>
    public MixerKind Mixer { get; init; } = MixerKind.LightNet;

    /// <summary>Patch grid [H/p, W/p]: the token layout seen by MD-TPE and MD-LRPE.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int[] Grid => [ImageHeight / PatchSize, ImageWidth / PatchSize];
    /// <summary>The "no class" label used for classifier-free guidance.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int NullClassId => NumClasses;

    /// <summary>Reads a config.json or golden-file config (a missing required key is an error naming it).</summary>
    public static DiTConfig FromJson(string json, string source = "config")
    {
        var c = ConfigJson.Parse(json, source);
        return ReadTrunk(c, new DiTConfig
        {
            InChannels = c.Int("in_channels"),
            ImageHeight = c.Int("image_height"),
            ImageWidth = c.Int("image_width"),
            PatchSize = c.Int("patch_size"),
            NumClasses = c.Int("num_classes"),
            TimestepEmbeddingDim = c.OptInt("timestep_embedding_dim") ?? 256,
            DiffusionSteps = c.OptInt("diffusion_steps") ?? 1000,
            BetaStart = c.OptDouble("beta_start") ?? 1e-4,
            BetaEnd = c.OptDouble("beta_end") ?? 0.02,
            Mixer = c.OptString("mixer") is string m ? MixerKinds.ParseConfig(m, source) : MixerKind.LightNet,
        }, normEpsRequired: false);
    }

    private protected override void Validate(ConfigChecks k)
    {
        base.Validate(k);
        Image(k, InChannels, ImageHeight, ImageWidth, PatchSize);
        k.Size("num_classes", NumClasses, 1, ConfigChecks.MaxSize - 1);
        k.Size("timestep_embedding_dim", TimestepEmbeddingDim, 2);
        if (TimestepEmbeddingDim % 2 != 0) throw k.Error("timestep_embedding_dim", $"is {TimestepEmbeddingDim}, must be even");
        k.Size("diffusion_steps", DiffusionSteps);
        foreach (var (key, beta) in new[] { ("beta_start", BetaStart), ("beta_end", BetaEnd) })
            if (!(beta > 0 && beta < 1)) throw k.Error(key, $"is {beta}, must be in (0, 1)");
        double c = HiddenSize;
        k.Parameters((double)InChannels * PatchSize * PatchSize * c * 2 + (NumClasses + 1) * c + TimestepEmbeddingDim * c + 2 * c * c
                     + NumHiddenLayers * 6 * c * c + BlockParameters());
    }
}

/// <summary>One adaLN-Zero DiT block around a non-causal token mixer (LightNet attention or a baseline, <see cref="DiTConfig.Mixer"/>) and a SwiGLU MLP (norms without affine, eps 1e-6).</summary>
public sealed class DiTBlock : Module
{
    /// <summary>Eps of the block's affine-free RMSNorms.</summary>
    public const double Eps = 1e-6;

    /// <summary>Creates the block for <c>cfg.HiddenSize</c> channels, weights N(0, 0.02²) from <paramref name="g"/>.</summary>
    public DiTBlock(DiTConfig cfg, Generator g, DType dtype)
    {
        int c = cfg.HiddenSize;
        AdaLN = Child("adaLN", new Linear(c, 6 * c, true, g, dtype: dtype));
        Attn = cfg.Mixer.Create(cfg.Attention, g, dtype);
        Child("attn", Attn.Module);
        Mlp = Child("mlp", new GatedMlp(c, cfg.Intermediate, g, dtype));
    }

    /// <summary>Modulation c → 6c (<c>adaLN</c>): shift, scale and gate for the attention, then for the MLP.</summary>
    public Linear AdaLN { get; }
    /// <summary>Non-causal token mixer (<c>attn</c>): LightNet attention unless the config names a baseline.</summary>
    public ISequenceMixer Attn { get; }
    /// <summary>SwiGLU MLP (<c>mlp</c>).</summary>
    public GatedMlp Mlp { get; }

    /// <summary><c>x·(1 + scale) + shift</c> with shift/scale [B, c] broadcast over tokens.</summary>
    public static Variable Modulate(Variable x, Variable shift, Variable scale) => x * (scale.Unsqueeze(1) + 1.0) + shift.Unsqueeze(1);

    /// <summary>Applies the block to tokens h [B, T, c] on the patch grid, given SiLU(condition) [B, c] and optional MD-LRPE angles; returns [B, T, c].</summary>
    public Variable Forward(Variable h, Variable condSilu, int[] grid, Tensor? lrpe)
    {
        var mods = AdaLN.Forward(condSilu).Chunk(6, -1);
        var x = Modulate(Variable.RmsNorm(h, null, Eps), mods[0], mods[1]);
        h = h + mods[2].Unsqueeze(1) * Attn.MixGrid(x, grid, lrpe);
        var y = Modulate(Variable.RmsNorm(h, null, Eps), mods[3], mods[4]);
        return h + mods[5].Unsqueeze(1) * Mlp.Forward(y);
    }
}

/// <summary>
/// Class-conditional LightNet diffusion transformer (SPEC §6.4), predicting the noise ε: <c>x_embed</c> →
/// MD-TPE → adaLN-Zero blocks (non-causal LNA with 2-D MD-LRPE) → <c>final.adaLN</c>/<c>final.linear</c> →
/// unpatchify. Conditioning: sinusoidal timestep embedding through <c>t_embed.mlp</c> plus <c>y_embed</c>.
/// </summary>
public sealed class LightNetDiT : Module
{
    private readonly LrpeAngleCache _angles = new();

    /// <summary>Holds <c>mlp.0</c> and <c>mlp.2</c> so the names match the SPEC.</summary>
    public sealed class TimestepEmbedder : Module
    {
        internal TimestepEmbedder(int freqDim, int c, Generator g, DType dtype)
        {
            Mlp0 = Child("mlp.0", new Linear(freqDim, c, true, g, dtype: dtype));
            Mlp2 = Child("mlp.2", new Linear(c, c, true, g, dtype: dtype));
        }

        /// <summary>Timestep features → c (<c>mlp.0</c>), followed by SiLU.</summary>
        public Linear Mlp0 { get; }
        /// <summary>c → c (<c>mlp.2</c>).</summary>
        public Linear Mlp2 { get; }
    }

    /// <summary>Holds <c>adaLN</c> and <c>linear</c> of the final layer.</summary>
    public sealed class FinalLayer : Module
    {
        internal FinalLayer(int c, int outDim, Generator g, DType dtype)
        {
            AdaLN = Child("adaLN", new Linear(c, 2 * c, true, g, dtype: dtype));
            Linear = Child("linear", new Linear(c, outDim, true, g, dtype: dtype));
        }

        /// <summary>Modulation c → 2c: shift and scale of the final norm.</summary>
        public Linear AdaLN { get; }
        /// <summary>Output projection c → p²·C: the noise of each patch.</summary>
        public Linear Linear { get; }
    }

    /// <summary>Holds the class table as <c>y_embed.weight</c>.</summary>
    public sealed class LabelEmbedder : Module
    {
        internal LabelEmbedder(int rows, int c, Generator g, DType dtype) { Weight = Parameter("weight", Init.Normal([rows, c], 0.02, g, dtype)); }
        /// <summary>Class table [num_classes + 1, c]; the last row is the null class.</summary>
        public Variable Weight { get; }
    }

    /// <summary>Builds the model with weights from <paramref name="gen"/> (seed 0 when null); <paramref name="zeroInit"/> zeroes every adaLN and the output projection (adaLN-Zero).</summary>
    public LightNetDiT(DiTConfig cfg, Generator? gen = null, DType dtype = DType.Float32, bool zeroInit = true)
    {
        GridMixing.CheckEncodings("dit", cfg.Mixer, cfg.Lrpe);
        Config = cfg;
        var g = gen ?? new Generator(0);
        int c = cfg.HiddenSize, p = cfg.PatchSize;
        XEmbed = Child("x_embed", new Linear(cfg.InChannels * p * p, c, true, g, dtype: dtype));
        if (cfg.Tpe) Tpe = Child("tpe", new MdTpeModule(2, c, cfg.TpeRpeDim, cfg.TpeRpeLayers, cfg.TpeRmsNormEps, false, cfg.TpeResidual, g, dtype));
        TEmbed = Child("t_embed", new TimestepEmbedder(cfg.TimestepEmbeddingDim, c, g, dtype));
        YEmbed = Child("y_embed", new LabelEmbedder(cfg.NumClasses + 1, c, g, dtype));
        Layers = new DiTBlock[cfg.NumHiddenLayers];
        for (int i = 0; i < Layers.Length; i++) Layers[i] = Child($"layers.{i}", new DiTBlock(cfg, g, dtype));
        Final = Child("final", new FinalLayer(c, p * p * cfg.InChannels, g, dtype));
        if (zeroInit)
        {
            // adaLN-Zero: every modulation and the output projection start at zero.
            foreach (var l in Layers.Select(b => b.AdaLN).Append(Final.AdaLN).Append(Final.Linear))
                foreach (var prm in l.Parameters()) prm.Data.Fill_(0);
        }
    }

    /// <summary>Sizes and schedule the model was built with.</summary>
    public DiTConfig Config { get; }
    /// <summary>Patch embedding C·p² → c (<c>x_embed</c>).</summary>
    public Linear XEmbed { get; }
    /// <summary>2-D MD-TPE over the patch grid (<c>tpe</c>); null when the config turns it off.</summary>
    public MdTpeModule? Tpe { get; }
    /// <summary>Timestep MLP (<c>t_embed</c>).</summary>
    public TimestepEmbedder TEmbed { get; }
    /// <summary>Class embeddings (<c>y_embed</c>).</summary>
    public LabelEmbedder YEmbed { get; }
    /// <summary>The adaLN-Zero blocks (<c>layers.{i}</c>).</summary>
    public DiTBlock[] Layers { get; }
    /// <summary>Final modulation and output projection (<c>final</c>).</summary>
    public FinalLayer Final { get; }

    /// <summary><c>[cos(t·f), sin(t·f)]</c> with <c>f_j = exp(−ln(10000)·j/half)</c>; angles in float64; on <paramref name="device"/> (default CPU).</summary>
    public static Tensor TimestepFeatures(Tensor t, int dim, DType dtype, Device? device = null)
    {
        int half = dim / 2;
        var ts = t.ToDoubleArray();
        var f = new double[ts.Length * dim];
        for (int b = 0; b < ts.Length; b++)
            for (int j = 0; j < half; j++)
            {
                double a = ts[b] * Math.Exp(-Math.Log(10000.0) * j / half);
                f[b * dim + j] = Math.Cos(a);
                f[b * dim + half + j] = Math.Sin(a);
            }
        using var h = Tensor.FromArray(f, [ts.Length, dim]);
        using var typed = h.To(dtype);
        return typed.To(device ?? Device.Cpu);
    }

    /// <summary>Predicted noise [B, C, H, W] for noisy images x, int64 timesteps t [B] and labels y [B] (y = num_classes: no class).</summary>
    public Variable Forward(Variable x, Tensor t, Tensor y)
    {
        var cfg = Config;
        if (x.Rank != 4 || x.Size(1) != cfg.InChannels || x.Size(2) != cfg.ImageHeight || x.Size(3) != cfg.ImageWidth)
            throw new ShapeException($"dit: x {x.Shape} must be [B, {cfg.InChannels}, {cfg.ImageHeight}, {cfg.ImageWidth}]");
        int B = x.Size(0);
        if (t.Numel != B || y.Numel != B || y.DType != DType.Int64)
            throw new ShapeException($"dit: 't' {t.Shape} and int64 'y' {y.DType.Name()} {y.Shape} must have one entry per image ({B})");
        var h = XEmbed.Forward(Patches.Patchify(x, cfg.PatchSize));
        if (Tpe != null) h = Tpe.Forward(h, cfg.Grid);
        using var tf = TimestepFeatures(t, cfg.TimestepEmbeddingDim, x.DType, x.Device);
        var temb = TEmbed.Mlp2.Forward(TEmbed.Mlp0.Forward(new Variable(tf.Clone())).Silu());
        var cond = temb + Variable.Embedding(YEmbed.Weight, y.Reshape(B));
        var condSilu = cond.Silu();
        var lrpe = cfg.Lrpe ? _angles.Get(cfg.Grid, cfg.Attention.HeadKDim, cfg.LrpeBase, x.DType, x.Device) : null;
        foreach (var layer in Layers) h = layer.Forward(h, condSilu, cfg.Grid, lrpe);
        var fm = Final.AdaLN.Forward(condSilu).Chunk(2, -1);
        var o = Final.Linear.Forward(DiTBlock.Modulate(Variable.RmsNorm(h, null, DiTBlock.Eps), fm[0], fm[1]));
        return Patches.Unpatchify(o, cfg.InChannels, cfg.ImageHeight, cfg.ImageWidth, cfg.PatchSize);
    }

    /// <summary>ᾱ_t = Π_{s≤t}(1 − β_s), β linear from beta_start to beta_end over the diffusion steps.</summary>
    public double[] AlphasCumprod()
    {
        int n = Config.DiffusionSteps;
        var a = new double[n];
        double acc = 1;
        for (int i = 0; i < n; i++)
        {
            double beta = Config.BetaStart + (Config.BetaEnd - Config.BetaStart) * i / Math.Max(1, n - 1);
            acc *= 1 - beta;
            a[i] = acc;
        }
        return a;
    }

    /// <summary>Mean squared error between the predicted and the true noise.</summary>
    public Variable Loss(Variable x, Tensor t, Tensor y, Tensor noise) => (Forward(x, t, y) - new Variable(noise)).Square().Mean();
}
