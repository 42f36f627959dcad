using System.Text.Json.Nodes;
using LightNet.Autograd;
using LightNet.Models;
using LightNet.Models.Diffusion;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;
using LightNet.Models.Training;

namespace LightNet.Tests;

/// <summary>
/// The video classifier (tubelets, 3-D grid) and the grid mixers of the image models: tubelet order, float64 gradient
/// checks for each mixer, baselines without MD-LRPE, the mixer recorded in config.json and read back with the weights.
/// </summary>
public class VideoModelTests
{
    /// <summary>A 4-frame 4×4 clip in 2×2×2 tubelets: a 2×2×2 token grid; head dim 6 so MD-LRPE and the rotary angles reach all three axes.</summary>
    internal static VideoClassifierConfig TinyVideo(MixerKind mixer) => new()
    {
        InChannels = 1,
        NumFrames = 4,
        ImageHeight = 4,
        ImageWidth = 4,
        TubeletFrames = 2,
        PatchSize = 2,
        HiddenSize = 12,
        NumHiddenLayers = 1,
        NumHeads = 2,
        GateLowRankDim = 3,
        NumClasses = 3,
        TpeRpeDim = 4,
        IntermediateSize = 16,
        Mixer = mixer,
        Lrpe = mixer == MixerKind.LightNet,
        Tpe = true,
    };

    internal static ImageClassifierConfig TinyImage(MixerKind mixer) => new()
    {
        InChannels = 1,
        ImageHeight = 6,
        ImageWidth = 4,
        PatchSize = 2,
        HiddenSize = 8,
        NumHiddenLayers = 1,
        NumHeads = 2,
        GateLowRankDim = 3,
        NumClasses = 3,
        TpeRpeDim = 4,
        IntermediateSize = 12,
        Mixer = mixer,
        Lrpe = mixer == MixerKind.LightNet,
        Tpe = mixer == MixerKind.LightNet,
    };

    private static void Randomise(Module m, double std, ulong seed)
    {
        var g = new Generator(seed);
        foreach (var p in m.Parameters()) { using var r = Tensor.RandN(p.Shape, g, p.DType, std: std); p.Data.CopyFrom(r); }
    }

    [Test]
    public void TubeletsAreOrderedChannelFrameRowColumn()
    {
        using var s = DisposalScope.Begin();
        // [B=1, C=2, F=4, H=2, W=4], tubelets 2×2×2 → grid 2×1×2 = 4 tokens of 2·2·2·2 = 16 values.
        var clip = new Variable(Tensor.Arange(0, 2 * 4 * 2 * 4, 1, DType.Float64).Reshape(1, 2, 4, 2, 4).Contiguous());
        var t = Patches.PatchifyTubelets(clip, 2, 2);
        Assert.That(t.Shape, Is.EqualTo(new Shape(1, 4, 16)));
        double At(int c, int f, int y, int x) => ((c * 4 + f) * 2 + y) * 4 + x;
        // Token 3 = time block 1, row block 0, column block 1; vector (channel, frame, row, column).
        var expected = new List<double>();
        for (int c = 0; c < 2; c++) for (int f = 2; f < 4; f++) for (int y = 0; y < 2; y++) for (int x = 2; x < 4; x++) expected.Add(At(c, f, y, x));
        Assert.That(t.Data.Select(1, 3).ToDoubleArray(), Is.EqualTo(expected.ToArray()));
        Assert.Throws<ShapeException>(() => Patches.PatchifyTubelets(clip, 3, 2));
    }

    [TestCase(MixerKind.LightNet)]
    [TestCase(MixerKind.Gla)]
    [TestCase(MixerKind.Softmax)]
    public void GradCheckTinyVideoClassifier(MixerKind mixer)
    {
        using var s = DisposalScope.Begin();
        var m = new LightNetForVideoClassification(TinyVideo(mixer), new Generator(1), DType.Float64);
        Randomise(m, 0.3, 2);
        Assert.That(m.Config.Grid, Is.EqualTo(new[] { 2, 2, 2 }));
        var clips = new Variable(Reference.Randn([2, 1, 4, 4, 4], DType.Float64, 3));
        var labels = Tensor.FromArray(new long[] { 2, 0 });
        var r = GradCheck.CheckParameters(() => m.Loss(clips, labels), m.Parameters().ToList());
        Assert.That(r.Passed, Is.True, $"video classifier ({mixer.Name()}): {r.Report}");
    }

    [TestCase(MixerKind.Gla)]
    [TestCase(MixerKind.Softmax)]
    public void GradCheckTinyImageModelsWithABaselineMixer(MixerKind mixer)
    {
        using var s = DisposalScope.Begin();
        var cls = new LightNetForImageClassification(TinyImage(mixer), new Generator(4), DType.Float64);
        Randomise(cls, 0.3, 5);
        var images = new Variable(Reference.Randn([2, 1, 6, 4], DType.Float64, 6));
        var r = GradCheck.CheckParameters(() => cls.Loss(images, Tensor.FromArray(new long[] { 1, 2 })), cls.Parameters().ToList());
        Assert.That(r.Passed, Is.True, $"classifier ({mixer.Name()}): {r.Report}");

        var dit = new LightNetDiT(new DiTConfig
        {
            InChannels = 1,
            ImageHeight = 4,
            ImageWidth = 6,
            PatchSize = 2,
            HiddenSize = 8,
            NumHiddenLayers = 1,
            NumHeads = 2,
            GateLowRankDim = 3,
            NumClasses = 3,
            TpeRpeDim = 4,
            IntermediateSize = 12,
            TimestepEmbeddingDim = 8,
            Mixer = mixer,
            Tpe = false,
            Lrpe = false,
        }, new Generator(7), DType.Float64, zeroInit: false);
        Randomise(dit, 0.3, 8);
        var x = new Variable(Reference.Randn([2, 1, 4, 6], DType.Float64, 9));
        var noise = Reference.Randn([2, 1, 4, 6], DType.Float64, 10);
        r = GradCheck.CheckParameters(() => dit.Loss(x, Tensor.FromArray(new long[] { 3, 999 }), Tensor.FromArray(new long[] { 0, 3 }), noise), dit.Parameters().ToList());
        Assert.That(r.Passed, Is.True, $"dit ({mixer.Name()}): {r.Report}");
    }

    /// <summary>Each baseline is the grid form of its mixer: GLA scans the grid (not the flat sequence), softmax is full attention with k-D rotary positions.</summary>
    [Test]
    public void BaselinesRunTheirGridForms()
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        var cfg = AttentionConfig.FromFla(8, 2, null, 3, causal: false);
        var x = new Variable(Reference.Randn([2, 12, 8], DType.Float64, 11));
        int[] grid = [2, 3, 2];
        var gla = new MultiplicativeDecayAttention(cfg, new Generator(12), DType.Float64);
        Randomise(gla, 0.4, 13);
        Assert.That(((ISequenceMixer)gla).MixGrid(x, grid, null).Data.ToDoubleArray(), Is.EqualTo(gla.Forward(x, grid).Data.ToDoubleArray()));
        Assert.That(Reference.RelErr(gla.Forward(x, [12]).Data.ToDoubleArray(), gla.Forward(x, grid).Data.ToDoubleArray()), Is.GreaterThan(1e-6), "6 scans differ from 2");

        var soft = new SoftmaxAttention(cfg, new Generator(14), DType.Float64);
        Randomise(soft, 0.4, 15);
        var y = ((ISequenceMixer)soft).MixGrid(x, grid, null).Data;
        // Reference: scores from rotated q, k with the 3-D angles, no mask.
        var q = new Variable(soft.QProj.Forward(x).Data.Reshape(2, 12, 2, 4).Permute(0, 2, 1, 3).Contiguous());
        var k = new Variable(soft.KProj.Forward(x).Data.Reshape(2, 12, 2, 4).Permute(0, 2, 1, 3).Contiguous());
        var v = new Variable(soft.VProj.Forward(x).Data.Reshape(2, 12, 2, 4).Permute(0, 2, 1, 3).Contiguous());
        var o = Variable.Matmul((Variable.Matmul(SoftmaxAttention.Rope(q, grid), SoftmaxAttention.Rope(k, grid).Transpose()) * cfg.Scale).Softmax(-1), v);
        var expected = soft.Gate(x, new Variable(o.Data.Permute(0, 2, 1, 3).Contiguous().Reshape(2, 12, 8)));
        Assert.That(Reference.RelErr(y.ToDoubleArray(), expected.Data.ToDoubleArray()), Is.LessThan(1e-12));
        // 1-D grid rotary = the causal mixer's RoPE.
        Assert.That(SoftmaxAttention.Rope(q, [12]).Data.ToDoubleArray(), Is.EqualTo(SoftmaxAttention.Rope(q).Data.ToDoubleArray()));
        Assert.Throws<NotSupportedException>(() => ((ISequenceMixer)gla).MixGrid(x, grid, Tensor.Zeros([12, 4], DType.Float64)));
        Assert.Throws<ShapeException>(() => ((ISequenceMixer)soft).MixGrid(x, [5, 2], null));
    }

    [Test]
    public void LrpeWithABaselineIsRefused()
    {
        Assert.Throws<ArgumentException>(() => _ = new LightNetForVideoClassification(TinyVideo(MixerKind.Gla) with { Lrpe = true }));
        Assert.Throws<ArgumentException>(() => _ = new LightNetForImageClassification(TinyImage(MixerKind.Softmax) with { Lrpe = true }));
        Assert.Throws<ArgumentException>(() => _ = new LightNetForVideoClassification(TinyVideo(MixerKind.LightNet) with { NumFrames = 5 }));
    }

    [TestCase(MixerKind.LightNet)]
    [TestCase(MixerKind.Gla)]
    [TestCase(MixerKind.Softmax)]
    public void MixerRoundTripsThroughConfigAndWeights(MixerKind mixer)
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        using var dir = new TempDir();
        // Image classifier: ClassifierTraining.LoadRun.
        var cls = new LightNetForImageClassification(TinyImage(mixer), new Generator(20));
        Randomise(cls, 0.3, 21);
        var clsDir = Path.Combine(dir.Path, "cls");
        Checkpoint.Save(clsDir, cls, cls.Config.ToJson());
        Assert.That(File.ReadAllText(Path.Combine(clsDir, "config.json")), Does.Contain($"\"mixer\": \"{mixer.Name()}\""));
        var cls2 = ClassifierTraining.LoadRun(clsDir, Device.Cpu);
        Assert.That(cls2.Config.Mixer, Is.EqualTo(mixer));
        var img = new Variable(Reference.Randn([2, 1, 6, 4], DType.Float32, 22));
        Assert.That(cls2.Forward(img).Data.ToArray<float>(), Is.EqualTo(cls.Forward(img).Data.ToArray<float>()));
        // DiT: ImageSampling.LoadRun.
        var ditCfg = new DiTConfig
        {
            InChannels = 1,
            ImageHeight = 4,
            ImageWidth = 4,
            PatchSize = 2,
            HiddenSize = 8,
            NumHiddenLayers = 1,
            NumHeads = 2,
            GateLowRankDim = 3,
            NumClasses = 3,
            TpeRpeDim = 4,
            IntermediateSize = 12,
            TimestepEmbeddingDim = 8,
            Mixer = mixer,
            Tpe = mixer == MixerKind.LightNet,
            Lrpe = mixer == MixerKind.LightNet,
        };
        var dit = new LightNetDiT(ditCfg, new Generator(23), zeroInit: false);
        var ditDir = Path.Combine(dir.Path, "dit");
        Checkpoint.Save(ditDir, dit, dit.Config.ToJson());
        var dit2 = ImageSampling.LoadRun(ditDir, Device.Cpu);
        Assert.That(dit2.Config.Mixer, Is.EqualTo(mixer));
        var xt = new Variable(Reference.Randn([1, 1, 4, 4], DType.Float32, 24));
        Tensor t = Tensor.FromArray(new long[] { 5 }), y = Tensor.FromArray(new long[] { 1 });
        Assert.That(dit2.Forward(xt, t, y).Data.ToArray<float>(), Is.EqualTo(dit.Forward(xt, t, y).Data.ToArray<float>()));
        // Video: VideoTraining.LoadRun, and the task is told apart from classify by its keys.
        var vid = new LightNetForVideoClassification(TinyVideo(mixer), new Generator(25));
        Randomise(vid, 0.3, 26);
        var vidDir = Path.Combine(dir.Path, "vid");
        Checkpoint.Save(vidDir, vid, vid.Config.ToJson());
        Assert.That(TrainingConfigFile.TaskOf(vidDir), Is.EqualTo("video"));
        Assert.That(TrainingConfigFile.TaskOf(clsDir), Is.EqualTo("classify"));
        var vid2 = VideoTraining.LoadRun(vidDir, Device.Cpu);
        Assert.That(vid2.Config, Is.EqualTo(vid.Config));
        var clip = new Variable(Reference.Randn([2, 1, 4, 4, 4], DType.Float32, 27));
        Assert.That(vid2.Forward(clip).Data.ToArray<float>(), Is.EqualTo(vid.Forward(clip).Data.ToArray<float>()));
    }

    [Test]
    public void ConfigsWithoutAMixerKeyLoadAsLightNet()
    {
        foreach (var json in new[] { TinyImage(MixerKind.LightNet).ToJson(), new DiTConfig().ToJson(), TinyVideo(MixerKind.LightNet).ToJson() })
        {
            var o = JsonNode.Parse(json)!.AsObject();
            Assert.That(o.Remove("mixer"), Is.True);
            var old = o.ToJsonString();
            Assert.That(ImageClassifierConfigOrOther(old), Is.EqualTo(MixerKind.LightNet));
        }
        Assert.Throws<InvalidDataException>(() => VideoClassifierConfig.FromJson(TinyVideo(MixerKind.LightNet).ToJson().Replace("\"lightnet\"", "\"mamba\"")));
    }

    private static MixerKind ImageClassifierConfigOrOther(string json) =>
        json.Contains("num_frames") ? VideoClassifierConfig.FromJson(json).Mixer
        : json.Contains("diffusion_steps") ? DiTConfig.FromJson(json).Mixer
        : ImageClassifierConfig.FromJson(json).Mixer;
}
