using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>Configuration of <see cref="LightNetForImageClassification"/> (golden-file key names).</summary>
public sealed record ImageClassifierConfig : TrunkConfig
{
    /// <summary>Defaults of this model.</summary>
    public ImageClassifierConfig()
    {
        HiddenSize = 192;
        NumHiddenLayers = 12;
        NumHeads = 3;
    }

    /// <summary>Image channels C.</summary>
    public int InChannels { get; init; } = 1;
    /// <summary>Image height H in pixels (a multiple of <see cref="PatchSize"/>).</summary>
    public int ImageHeight { get; init; } = 28;
    /// <summary>Image width W in pixels (a multiple of <see cref="PatchSize"/>).</summary>
    public int ImageWidth { get; init; } = 28;
    /// <summary>Side p of the square patches that become tokens.</summary>
    public int PatchSize { get; init; } = 4;
    /// <summary>Number of classes: logits per image.</summary>
    public int NumClasses { get; init; } = 10;
    /// <summary>
    /// Token mixer of every block (config key <c>mixer</c>; absent in older configs: lightnet): LightNet's one scan, the
    /// GLA baseline's 4 directional scans on the patch grid, or full softmax attention with 2-D rotary positions. The
    /// baselines run without MD-LRPE (set <see cref="TrunkConfig.Lrpe"/> false).
    /// </summary>
    public MixerKind Mixer { get; init; } = MixerKind.LightNet;

    /// <summary>Patch grid [H/p, W/p]: the token layout seen by MD-TPE and MD-LRPE.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int[] Grid => [ImageHeight / PatchSize, ImageWidth / PatchSize];

    /// <summary>Reads a config.json or golden-file config (a missing required key is an error naming it).</summary>
    public static ImageClassifierConfig FromJson(string json, string source = "config")
    {
        var c = ConfigJson.Parse(json, source);
        return ReadTrunk(c, new ImageClassifierConfig
        {
            InChannels = c.Int("in_channels"),
            ImageHeight = c.Int("image_height"),
            ImageWidth = c.Int("image_width"),
            PatchSize = c.Int("patch_size"),
            NumClasses = c.Int("num_classes"),
            Mixer = c.OptString("mixer") is string m ? MixerKinds.ParseConfig(m, source) : MixerKind.LightNet,
        }, normEpsRequired: true);
    }

    private protected override void Validate(ConfigChecks k)
    {
        base.Validate(k);
        Image(k, InChannels, ImageHeight, ImageWidth, PatchSize);
        k.Size("num_classes", NumClasses);
        k.Parameters((double)InChannels * PatchSize * PatchSize * HiddenSize + (double)HiddenSize * NumClasses + BlockParameters());
    }
}

/// <summary>
/// LightNet image classifier (SPEC §6.3): <c>patch_embed</c> → 2-D MD-TPE (<c>tpe.</c>) → non-causal blocks
/// with 2-D MD-LRPE (<c>layers.{i}</c>) → <c>norm</c> → mean over tokens → <c>head</c>. With a baseline
/// <see cref="ImageClassifierConfig.Mixer"/> the blocks run that mixer on the patch grid (<see cref="GridMixing.MixGrid"/>).
/// </summary>
public sealed class LightNetForImageClassification : Module
{
    /// <summary>Builds the model with weights from <paramref name="gen"/> (seed 0 when null).</summary>
    public LightNetForImageClassification(ImageClassifierConfig cfg, Generator? gen = null, DType dtype = DType.Float32)
    {
        GridMixing.CheckEncodings("image_classifier", cfg.Mixer, cfg.Lrpe);
        Config = cfg;
        var g = gen ?? new Generator(0);
        int c = cfg.HiddenSize;
        PatchEmbed = Child("patch_embed", new Linear(cfg.InChannels * cfg.PatchSize * cfg.PatchSize, c, true, g, dtype: dtype));
        if (cfg.Tpe) Tpe = Child("tpe", new MdTpeModule(2, c, cfg.TpeRpeDim, cfg.TpeRpeLayers, cfg.TpeRmsNormEps, causal: false, residual: cfg.TpeResidual, g, dtype));
        Layers = new LightNetBlock[cfg.NumHiddenLayers];
        for (int i = 0; i < Layers.Length; i++) Layers[i] = Child($"layers.{i}", new LightNetBlock(cfg.Attention, cfg.Intermediate, cfg.NormEps, g, dtype, cfg.Mixer));
        Norm = Child("norm", new RmsNorm(c, cfg.NormEps, dtype: dtype));
        Head = Child("head", new Linear(c, cfg.NumClasses, true, g, dtype: dtype));
    }

    private readonly LrpeAngleCache _angles = new();

    /// <summary>Sizes the model was built with.</summary>
    public ImageClassifierConfig Config { get; }
    /// <summary>Patch embedding C·p² → c (<c>patch_embed</c>).</summary>
    public Linear PatchEmbed { get; }
    /// <summary>2-D MD-TPE over the patch grid (<c>tpe</c>); null when the config turns it off.</summary>
    public MdTpeModule? Tpe { get; }
    /// <summary>Non-causal blocks (<c>layers.{i}</c>).</summary>
    public LightNetBlock[] Layers { get; }
    /// <summary>Final RMSNorm (<c>norm</c>).</summary>
    public RmsNorm Norm { get; }
    /// <summary>Classifier c → classes (<c>head</c>).</summary>
    public Linear Head { get; }

    /// <summary>Logits [B, classes] for images [B, C, H, W].</summary>
    public Variable Forward(Variable images) => Head.Forward(Features(images));

    /// <summary>The penultimate representation [B, c]: the final-normed hidden state averaged over tokens (the head's input).</summary>
    public Variable Features(Variable images)
    {
        var cfg = Config;
        if (images.Rank != 4 || images.Size(1) != cfg.InChannels || images.Size(2) != cfg.ImageHeight || images.Size(3) != cfg.ImageWidth)
            throw new ShapeException($"image_classifier: images {images.Shape} must be [B, {cfg.InChannels}, {cfg.ImageHeight}, {cfg.ImageWidth}]");
        var h = PatchEmbed.Forward(Patches.Patchify(images, cfg.PatchSize));
        if (Tpe != null) h = Tpe.Forward(h, cfg.Grid);
        var lrpe = cfg.Lrpe ? _angles.Get(cfg.Grid, cfg.Attention.HeadKDim, cfg.LrpeBase, images.DType, images.Device) : null;
        foreach (var layer in Layers) h = layer.ForwardGrid(h, cfg.Grid, lrpe);
        return Norm.Forward(h).Mean(1);
    }

    /// <summary>Mean cross-entropy over the batch.</summary>
    public Variable Loss(Variable images, Tensor labels) => Variable.CrossEntropy(Forward(images), labels);
}
