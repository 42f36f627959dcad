using System.Text.Json.Serialization;
using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>Configuration of <see cref="LightNetForVideoClassification"/> (snake_case config.json keys like the other models).</summary>
public sealed record VideoClassifierConfig : TrunkConfig
{
    /// <summary>Defaults of this model (small: the 3-D task must train on two CPU cores).</summary>
    public VideoClassifierConfig()
    {
        HiddenSize = 64;
        NumHiddenLayers = 2;
        NumHeads = 2;
        GateLowRankDim = 16;
        TpeRpeDim = 16;
    }

    /// <summary>Channels C per frame.</summary>
    public int InChannels { get; init; } = 1;
    /// <summary>Frames F per clip (a multiple of <see cref="TubeletFrames"/>).</summary>
    public int NumFrames { get; init; } = 16;
    /// <summary>Frame height H in pixels (a multiple of <see cref="PatchSize"/>).</summary>
    public int ImageHeight { get; init; } = 64;
    /// <summary>Frame width W in pixels (a multiple of <see cref="PatchSize"/>).</summary>
    public int ImageWidth { get; init; } = 64;
    /// <summary>Frames pt of one tubelet (its temporal extent).</summary>
    public int TubeletFrames { get; init; } = 2;
    /// <summary>Side p of a tubelet in pixels.</summary>
    public int PatchSize { get; init; } = 8;
    /// <summary>Number of classes: logits per clip.</summary>
    public int NumClasses { get; init; } = 10;
    /// <summary>
    /// Token mixer of every block (config key <c>mixer</c>): LightNet's one scan over the 3-D tubelet grid, the GLA
    /// baseline's 6 directional scans (forward and backward along time, rows and columns), or full softmax attention
    /// with 3-D rotary positions. The baselines run without MD-LRPE (<see cref="TrunkConfig.Lrpe"/> false).
    /// </summary>
    public MixerKind Mixer { get; init; } = MixerKind.LightNet;

    /// <summary>Tubelet grid [F/pt, H/p, W/p]: the token layout seen by MD-TPE, MD-LRPE and the baselines' scans.</summary>
    [JsonIgnore]
    public int[] Grid => [NumFrames / TubeletFrames, ImageHeight / PatchSize, ImageWidth / PatchSize];

    /// <summary>Tokens per clip, Π <see cref="Grid"/>.</summary>
    [JsonIgnore]
    public int Tokens => Grid.Aggregate(1, (a, b) => a * b);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first size that does not fit.</summary>
    public void Validate()
    {
        if (InChannels <= 0 || NumFrames <= 0 || ImageHeight <= 0 || ImageWidth <= 0 || TubeletFrames <= 0 || PatchSize <= 0 || NumClasses <= 0)
            throw new ArgumentException($"video_classifier: every size must be positive (channels {InChannels}, frames {NumFrames}, {ImageHeight}×{ImageWidth}, tubelet {TubeletFrames}×{PatchSize}×{PatchSize}, classes {NumClasses})");
        if (NumFrames % TubeletFrames != 0) throw new ArgumentException($"video_classifier: {NumFrames} frames are not a multiple of the tubelet's {TubeletFrames}");
        if (ImageHeight % PatchSize != 0 || ImageWidth % PatchSize != 0) throw new ArgumentException($"video_classifier: frames {ImageHeight}×{ImageWidth} are not divisible into {PatchSize}×{PatchSize} patches");
        GridMixing.CheckEncodings("video_classifier", Mixer, Lrpe);
    }

    /// <summary>Reads a config.json (a missing required key is an error naming it; <c>mixer</c> absent means lightnet).</summary>
    public static VideoClassifierConfig FromJson(string json, string source = "config")
    {
        var c = ConfigJson.Parse(json, source);
        return ReadTrunk(c, new VideoClassifierConfig
        {
            InChannels = c.Int("in_channels"),
            NumFrames = c.Int("num_frames"),
            ImageHeight = c.Int("image_height"),
            ImageWidth = c.Int("image_width"),
            TubeletFrames = c.Int("tubelet_frames"),
            PatchSize = c.Int("patch_size"),
            NumClasses = c.Int("num_classes"),
            Mixer = c.OptString("mixer") is string m ? MixerKinds.ParseConfig(m, source) : MixerKind.LightNet,
        }, normEpsRequired: true);
    }
}

/// <summary>
/// Video classifier on the LightNet trunk, the image classifier (SPEC §6.3) lifted to three dimensions:
/// <c>patch_embed</c> = Linear(C·pt·p·p → c, bias) on pt×p×p tubelets (<see cref="Patches.PatchifyTubelets"/>) →
/// 3-D MD-TPE over the tubelet grid (<c>tpe.</c>) → non-causal blocks (<c>layers.{i}</c>) with 3-D MD-LRPE, or a
/// baseline mixer on the grid (<see cref="GridMixing.MixGrid"/>: GLA with 6 scans, softmax with 3-D rotary positions)
/// → <c>norm</c> → mean over tokens → <c>head</c> Linear(c → classes, bias).
/// </summary>
public sealed class LightNetForVideoClassification : Module
{
    private readonly LrpeAngleCache _angles = new();

    /// <summary>Builds the model with weights N(0, 0.02²) from <paramref name="gen"/> (seed 0 when null); throws <see cref="ArgumentException"/> on sizes that do not fit.</summary>
    public LightNetForVideoClassification(VideoClassifierConfig cfg, Generator? gen = null, DType dtype = DType.Float32)
    {
        cfg.Validate();
        Config = cfg;
        var g = gen ?? new Generator(0);
        int c = cfg.HiddenSize;
        PatchEmbed = Child("patch_embed", new Linear(cfg.InChannels * cfg.TubeletFrames * cfg.PatchSize * cfg.PatchSize, c, true, g, dtype: dtype));
        if (cfg.Tpe) Tpe = Child("tpe", new MdTpeModule(3, c, cfg.TpeRpeDim, cfg.TpeRpeLayers, cfg.TpeRmsNormEps, causal: false, residual: cfg.TpeResidual, g, dtype));
        Layers = new LightNetBlock[cfg.NumHiddenLayers];
        for (int i = 0; i < Layers.Length; i++) Layers[i] = Child($"layers.{i}", new LightNetBlock(cfg.Attention, cfg.Intermediate, cfg.NormEps, g, dtype, cfg.Mixer));
        Norm = Child("norm", new RmsNorm(c, cfg.NormEps, dtype: dtype));
        Head = Child("head", new Linear(c, cfg.NumClasses, true, g, dtype: dtype));
    }

    /// <summary>Sizes the model was built with.</summary>
    public VideoClassifierConfig Config { get; }
    /// <summary>Tubelet embedding C·pt·p² → c (<c>patch_embed</c>).</summary>
    public Linear PatchEmbed { get; }
    /// <summary>3-D MD-TPE over the tubelet grid (<c>tpe</c>); null when the config turns it off.</summary>
    public MdTpeModule? Tpe { get; }
    /// <summary>Non-causal blocks (<c>layers.{i}</c>).</summary>
    public LightNetBlock[] Layers { get; }
    /// <summary>Final RMSNorm (<c>norm</c>).</summary>
    public RmsNorm Norm { get; }
    /// <summary>Classifier c → classes (<c>head</c>).</summary>
    public Linear Head { get; }

    /// <summary>Logits [B, classes] for clips [B, C, F, H, W].</summary>
    public Variable Forward(Variable clips) => Head.Forward(Features(clips));

    /// <summary>The penultimate representation [B, c]: the final-normed hidden state averaged over the tubelet tokens.</summary>
    public Variable Features(Variable clips)
    {
        var cfg = Config;
        if (clips.Rank != 5 || clips.Size(1) != cfg.InChannels || clips.Size(2) != cfg.NumFrames || clips.Size(3) != cfg.ImageHeight || clips.Size(4) != cfg.ImageWidth)
            throw new ShapeException($"video_classifier: clips {clips.Shape} must be [B, {cfg.InChannels}, {cfg.NumFrames}, {cfg.ImageHeight}, {cfg.ImageWidth}]");
        var grid = cfg.Grid;
        var h = PatchEmbed.Forward(Patches.PatchifyTubelets(clips, cfg.TubeletFrames, cfg.PatchSize));
        if (Tpe != null) h = Tpe.Forward(h, grid);
        var lrpe = cfg.Lrpe ? _angles.Get(grid, cfg.Attention.HeadKDim, cfg.LrpeBase, clips.DType, clips.Device) : null;
        foreach (var layer in Layers) h = layer.ForwardGrid(h, grid, lrpe);
        return Norm.Forward(h).Mean(1);
    }

    /// <summary>Mean cross-entropy over the batch.</summary>
    public Variable Loss(Variable clips, Tensor labels) => Variable.CrossEntropy(Forward(clips), labels);
}
