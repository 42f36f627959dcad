using LightNet.Autograd;
using LightNet.Cli.Golden;
using LightNet.Models;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;

namespace LightNet.Tests;

public class VisionAndMlmModelTests
{
    private static ImageClassifierConfig TinyCls => new()
    {
        InChannels = 2,
        ImageHeight = 6,
        ImageWidth = 4,
        PatchSize = 2,
        HiddenSize = 8,
        NumHiddenLayers = 1,
        NumHeads = 2,
        GateLowRankDim = 3,
        NumClasses = 5,
        TpeRpeDim = 4,
        IntermediateSize = 12,
    };

    private static MaskedLMConfig TinyMlm => new()
    {
        VocabSize = 13,
        HiddenSize = 8,
        NumHiddenLayers = 1,
        NumHeads = 2,
        GateLowRankDim = 3,
        TpeRpeDim = 4,
        IntermediateSize = 12,
        MaskTokenId = 12,
    };

    private static DiTConfig TinyDit => new()
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
    };

    private static void Randomise(Module m, double std, ulong seed)
    {
        var g = new Generator(seed);
        foreach (var p in m.Parameters()) { using var r = Tensor.RandN(p.Shape, g, p.DType, std: std); p.Data.CopyFrom(r); }
    }

    [Test]
    public void PatchifyRoundTripsInChannelRowColumnOrder()
    {
        using var s = DisposalScope.Begin();
        var img = new Variable(Tensor.Arange(0, 2 * 4 * 6, 1, DType.Float64).Reshape(1, 2, 4, 6).Contiguous());
        var p = Patches.Patchify(img, 2);
        Assert.That(p.Shape, Is.EqualTo(new Shape(1, 6, 8)));
        // First patch: channel 0 rows 0-1 cols 0-1, then channel 1.
        Assert.That(p.Data.Select(1, 0).ToDoubleArray(), Is.EqualTo(new double[] { 0, 1, 6, 7, 24, 25, 30, 31 }));
        Assert.That(Patches.Unpatchify(p, 2, 4, 6, 2).Data.ToDoubleArray(), Is.EqualTo(img.Data.ToDoubleArray()));
    }

    [Test]
    public void GradCheckTinyClassifierMaskedLmAndDiT()
    {
        using var s = DisposalScope.Begin();
        var cls = new LightNetForImageClassification(TinyCls, new Generator(1), DType.Float64);
        Randomise(cls, 0.3, 2);
        var images = new Variable(Reference.Randn([2, 2, 6, 4], DType.Float64, 3));
        var labels = Tensor.FromArray(new long[] { 1, 4 });
        var r = GradCheck.CheckParameters(() => cls.Loss(images, labels), cls.Parameters().ToList());
        Assert.That(r.Passed, Is.True, "classifier: " + r.Report);

        var mlm = new LightNetForMaskedLM(TinyMlm, new Generator(4), DType.Float64);
        Randomise(mlm, 0.3, 5);
        var ids = Tensor.FromArray(new long[] { 1, 12, 3, 4, 12, 6, 7 }, [1, 7]);
        var lab = Tensor.FromArray(new long[] { -100, 2, -100, -100, 5, -100, -100 }, [1, 7]);
        r = GradCheck.CheckParameters(() => mlm.Loss(ids, lab), mlm.Parameters().ToList());
        Assert.That(r.Passed, Is.True, "masked lm: " + r.Report);

        var dit = new LightNetDiT(TinyDit, new Generator(6), DType.Float64, zeroInit: false);
        Randomise(dit, 0.3, 7);
        var x = new Variable(Reference.Randn([2, 1, 4, 6], DType.Float64, 8));
        var t = Tensor.FromArray(new long[] { 3, 999 });
        var y = Tensor.FromArray(new long[] { 0, 3 });
        var noise = Reference.Randn([2, 1, 4, 6], DType.Float64, 9);
        r = GradCheck.CheckParameters(() => dit.Loss(x, t, y, noise), dit.Parameters().ToList());
        Assert.That(r.Passed, Is.True, "dit: " + r.Report);
    }

    [Test]
    public void PermutationInvariantOnlyWithoutEncodings()
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        var ids = Tensor.FromArray(new long[] { 1, 2, 3, 4, 5, 6, 7 }, [1, 7]);
        var perm = Tensor.FromArray(new long[] { 3, 0, 6, 1, 5, 2, 4 });
        var permIds = ids.IndexSelect(1, perm);
        foreach (var (tpe, lrpe) in new[] { (false, false), (true, false), (false, true) })
        {
            var m = new LightNetForMaskedLM(TinyMlm with { Tpe = tpe, Lrpe = lrpe }, new Generator(10), DType.Float64);
            Randomise(m, 0.5, 11);
            var a = m.Forward(ids).Data.IndexSelect(1, perm);
            var b = m.Forward(permIds).Data;
            double err = Reference.RelErr(b.ToDoubleArray(), a.ToDoubleArray());
            if (!tpe && !lrpe) Assert.That(err, Is.LessThan(1e-12), "equivariant without encodings");
            else Assert.That(err, Is.GreaterThan(1e-6), $"tpe={tpe} lrpe={lrpe} must break permutation symmetry");
        }
    }

    [Test]
    public void ClassifierLossDecreasesAndSaveLoadReproduces()
    {
        using var s = DisposalScope.Begin();
        var m = new LightNetForImageClassification(TinyCls with { HiddenSize = 16, NumHeads = 2 }, new Generator(12));
        var images = new Variable(Reference.Randn([8, 2, 6, 4], DType.Float32, 13));
        var labels = Tensor.FromArray(new long[] { 0, 1, 2, 3, 4, 0, 1, 2 });
        var opt = new LightNet.Models.Optim.AdamW(m.Parameters(), lr: 1e-2, weightDecay: 0);
        double first = 0, last = 0;
        for (int i = 0; i < 20; i++)
        {
            using var sc = DisposalScope.Begin();
            var loss = m.Loss(images, labels);
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
            if (i == 0) first = loss.Data.Item();
            last = loss.Data.Item();
        }
        Assert.That(last, Is.LessThan(first * 0.5), $"{first} → {last}");
        var dir = Path.Combine(Path.GetTempPath(), "lightnet-cls-" + Guid.NewGuid().ToString("N"));
        try
        {
            Checkpoint.Save(dir, m, "{}");
            var m2 = new LightNetForImageClassification(m.Config, new Generator(99));
            Checkpoint.LoadWeights(dir, m2);
            using var ng = NoGrad.Scope();
            Assert.That(m2.Forward(images).Data.ToArray<float>(), Is.EqualTo(m.Forward(images).Data.ToArray<float>()));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void DiTStartsAtZeroOutputAndSamplesScheduleIsDdpm()
    {
        using var s = DisposalScope.Begin();
        var dit = new LightNetDiT(TinyDit, new Generator(1));
        using var ng = NoGrad.Scope();
        var o = dit.Forward(new Variable(Reference.Randn([2, 1, 4, 6], DType.Float32, 2)), Tensor.FromArray(new long[] { 1, 2 }), Tensor.FromArray(new long[] { 0, 3 }));
        Assert.That(o.Data.ToDoubleArray(), Has.All.EqualTo(0.0), "adaLN-Zero: the final projection starts at zero");
        var a = dit.AlphasCumprod();
        Assert.That(a[0], Is.EqualTo(1 - 1e-4).Within(1e-15));
        Assert.That(a[999], Is.EqualTo(Enumerable.Range(0, 1000).Aggregate(1.0, (acc, i) => acc * (1 - (1e-4 + (0.02 - 1e-4) * i / 999.0)))).Within(1e-15));
    }

    /// <summary>The masked_lm and dit kinds have no shared example file: a file written from the model in float64 must round-trip through the kind handler.</summary>
    [Test]
    public void MaskedLmAndDiTKindsReadTheReadmeLayout()
    {
        using var s = DisposalScope.Begin();
        var dir = Path.Combine(Path.GetTempPath(), "lightnet-kinds-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var mlm = new LightNetForMaskedLM(TinyMlm, new Generator(3), DType.Float64);
            Randomise(mlm, 0.3, 4);
            var ids = Tensor.FromArray(new long[] { 1, 12, 3, 4, 12, 6 }, [1, 6]);
            var lab = Tensor.FromArray(new long[] { -100, 2, -100, -100, 5, -100 }, [1, 6]);
            var logits = mlm.Forward(ids);
            var loss = Variable.CrossEntropy(logits.Reshape(6, -1), lab.Reshape(6));
            loss.Backward();
            var t = new Dictionary<string, Tensor> { ["input_ids"] = ids, ["labels"] = lab, ["logits"] = logits.Data, ["loss"] = loss.Data };
            foreach (var (n, p) in mlm.NamedParameters()) { t["param/" + n] = p.Data; t["grad/" + n] = p.Grad!; }
            var cfg = """{"vocab_size": 13, "hidden_size": 8, "num_hidden_layers": 1, "num_heads": 2, "head_k_dim": 4, "head_v_dim": 4, "expand_ratio": 4, "gate_low_rank_dim": 3, "tpe_rpe_dim": 4, "tpe_rpe_layers": 1, "hidden_ratio": 4, "intermediate_size": 12, "attn_scale": 0.5, "norm_eps": 1e-06, "tpe_rms_norm_eps": 1e-06, "lrpe_base": 10000.0, "mask_token_id": 12, "tpe_causal": false, "tpe_residual": true, "lrpe": true, "lrpe_grid": [6], "causal": false, "tie_word_embeddings": false, "batch": 1, "seq_len": 6, "seed": 0}""";
            var f = Path.Combine(dir, "mlm.safetensors");
            SafetensorsFile.Save(f, t, new Dictionary<string, string> { ["kind"] = "masked_lm", ["config"] = cfg });
            var rep = GoldenRunner.Run(f, DType.Float64);
            Assert.That(rep.Passed, Is.True);
            Assert.That(GoldenRunner.Run(f, DType.Float32).Passed, Is.True);
        }
        finally { Directory.Delete(dir, true); }
    }
}

public class ModelTrainingAndSymmetryTests
{
    private static void Randomise(LightNet.Models.Nn.Module m, double std, ulong seed)
    {
        var g = new Generator(seed);
        foreach (var p in m.Parameters()) { using var r = Tensor.RandN(p.Shape, g, p.DType, std: std); p.Data.CopyFrom(r); }
    }

    private static double TrainTwenty(Func<Variable> loss, IEnumerable<Variable> parameters, double lr)
    {
        var ps = parameters.ToList();
        double first = 0, last = 0;
        for (int i = 0; i < 20; i++)
        {
            using var sc = DisposalScope.Begin();
            var l = loss();
            l.Backward();
            foreach (var p in ps)
            {
                if (p.Grad == null) continue;
                using var upd = p.Grad * lr;
                p.Data.BinaryInPlace(BinaryOp.Sub, upd);
                p.ZeroGrad();
            }
            if (i == 0) first = l.Data.Item();
            last = l.Data.Item();
        }
        return last / first;
    }

    [Test]
    public void MaskedLmAndDiTLossDecreaseWithPlainSgdAndReloadIdentically()
    {
        using var s = DisposalScope.Begin();
        var mlm = new LightNetForMaskedLM(new MaskedLMConfig { VocabSize = 13, HiddenSize = 16, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 4, TpeRpeDim = 4, IntermediateSize = 32, MaskTokenId = 12 }, new Generator(1));
        var ids = Tensor.FromArray(Enumerable.Range(0, 32).Select(i => (long)(i % 5 == 0 ? 12 : i % 11)).ToArray(), [2, 16]);
        var labels = Tensor.FromArray(Enumerable.Range(0, 32).Select(i => i % 5 == 0 ? (long)(i % 11) : -100L).ToArray(), [2, 16]);
        Assert.That(TrainTwenty(() => mlm.Loss(ids, labels), mlm.Parameters(), 1.0), Is.LessThan(0.9));

        var dit = new LightNetDiT(new DiTConfig { InChannels = 1, ImageHeight = 4, ImageWidth = 4, PatchSize = 2, HiddenSize = 16, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 4, NumClasses = 3, TpeRpeDim = 4, IntermediateSize = 32, TimestepEmbeddingDim = 16 }, new Generator(2));
        var x = new Variable(Tensor.RandN([4, 1, 4, 4], new Generator(3)));
        var t = Tensor.FromArray(new long[] { 1, 10, 100, 999 });
        var y = Tensor.FromArray(new long[] { 0, 1, 2, 3 });
        var noise = Tensor.RandN([4, 1, 4, 4], new Generator(4));
        Assert.That(TrainTwenty(() => dit.Loss(x, t, y, noise), dit.Parameters(), 0.5), Is.LessThan(0.9));

        var cls = new LightNetForImageClassification(new ImageClassifierConfig { InChannels = 1, ImageHeight = 4, ImageWidth = 4, PatchSize = 2, HiddenSize = 16, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 4, NumClasses = 4, TpeRpeDim = 4, IntermediateSize = 32 }, new Generator(5));
        var images = new Variable(Tensor.RandN([8, 1, 4, 4], new Generator(6)));
        var lab = Tensor.FromArray(new long[] { 0, 1, 2, 3, 0, 1, 2, 3 });
        Assert.That(TrainTwenty(() => cls.Loss(images, lab), cls.Parameters(), 0.5), Is.LessThan(0.9), "classifier, plain SGD");

        foreach (var (m, run) in new (LightNet.Models.Nn.Module, Func<Tensor>)[] { (mlm, () => mlm.Forward(ids).Data), (dit, () => dit.Forward(x, t, y).Data) })
        {
            var dir = Path.Combine(Path.GetTempPath(), "lightnet-rt-" + Guid.NewGuid().ToString("N"));
            try
            {
                LightNet.Models.Checkpoint.Save(dir, m, "{}");
                var before = run().ToArray<float>();
                foreach (var p in m.Parameters()) p.Data.Fill_(0);
                LightNet.Models.Checkpoint.LoadWeights(dir, m);
                Assert.That(run().ToArray<float>(), Is.EqualTo(before));
            }
            finally { Directory.Delete(dir, true); }
        }
    }

    [Test]
    public void ClassifierAndDiTArePermutationSymmetricOnlyWithoutEncodings()
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        // Permuting the 2×2 patches of a 4×4 image: the pooled classifier is invariant, DiT equivariant, without encodings.
        var img = Tensor.RandN([1, 1, 4, 4], new Generator(5), DType.Float64);
        var tokens = Patches.Patchify(new Variable(img), 2).Data;
        var perm = Tensor.FromArray(new long[] { 3, 1, 0, 2 });
        var permImg = Patches.Unpatchify(new Variable(tokens.IndexSelect(1, perm)), 1, 4, 4, 2).Data;
        foreach (bool enc in new[] { false, true })
        {
            var cls = new LightNetForImageClassification(new ImageClassifierConfig { InChannels = 1, ImageHeight = 4, ImageWidth = 4, PatchSize = 2, HiddenSize = 8, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 3, NumClasses = 3, TpeRpeDim = 4, IntermediateSize = 12, Tpe = enc, Lrpe = enc }, new Generator(6), DType.Float64);
            Randomise(cls, 0.5, 7);
            double e1 = Reference.RelErr(cls.Forward(new Variable(permImg)).Data.ToDoubleArray(), cls.Forward(new Variable(img)).Data.ToDoubleArray());
            var dit = new LightNetDiT(new DiTConfig { InChannels = 1, ImageHeight = 4, ImageWidth = 4, PatchSize = 2, HiddenSize = 8, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 3, NumClasses = 3, TpeRpeDim = 4, IntermediateSize = 12, TimestepEmbeddingDim = 8, Tpe = enc, Lrpe = enc }, new Generator(8), DType.Float64, zeroInit: false);
            Randomise(dit, 0.5, 9);
            var t = Tensor.FromArray(new long[] { 5 }); var y = Tensor.FromArray(new long[] { 1 });
            var outPerm = Patches.Patchify(dit.Forward(new Variable(permImg), t, y), 2).Data;
            var outRef = Patches.Patchify(dit.Forward(new Variable(img), t, y), 2).Data.IndexSelect(1, perm);
            double e2 = Reference.RelErr(outPerm.ToDoubleArray(), outRef.ToDoubleArray());
            if (!enc) { Assert.That(e1, Is.LessThan(1e-12)); Assert.That(e2, Is.LessThan(1e-12)); }
            else { Assert.That(e1, Is.GreaterThan(1e-6)); Assert.That(e2, Is.GreaterThan(1e-6)); }
        }
    }
}

public class ConfigJsonTests
{
    [Test]
    public void ModelConfigsRoundTripThroughConfigJson()
    {
        var c = new ImageClassifierConfig { HiddenSize = 96, NumHeads = 3, PatchSize = 2, Lrpe = false, AttnScale = 0.25 };
        Assert.That(ImageClassifierConfig.FromJson(c.ToJson()), Is.EqualTo(c));
        var m = new MaskedLMConfig { VocabSize = 300, MaskTokenId = 299, Tpe = false };
        Assert.That(MaskedLMConfig.FromJson(m.ToJson()), Is.EqualTo(m));
        var d = new DiTConfig { NumClasses = 7, DiffusionSteps = 500 };
        Assert.That(DiTConfig.FromJson(d.ToJson()), Is.EqualTo(d));
        var l = new LightNetConfig { VocabSize = 77, HiddenSize = 64, ExpandRatio = 16, UseLrpe = true };
        Assert.That(LightNetConfig.FromJson(l.ToJson()), Is.EqualTo(l));
        Assert.Throws<InvalidDataException>(() => ImageClassifierConfig.FromJson("{\"in_channels\": 1}"));
        Assert.Throws<InvalidDataException>(() => ImageClassifierConfig.FromJson("{not json"));
    }
}

public class MaskedLmPaddingTests
{
    [Test]
    public void PaddedBatchesGiveTheUnpaddedLogitsAtRealTokens()
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        var m = new LightNetForMaskedLM(new MaskedLMConfig { VocabSize = 13, HiddenSize = 8, NumHiddenLayers = 2, NumHeads = 2, GateLowRankDim = 3, TpeRpeDim = 4, IntermediateSize = 12, MaskTokenId = 12 }, new Generator(3), DType.Float64);
        var g = new Generator(4);
        foreach (var p in m.Parameters()) { using var r = Tensor.RandN(p.Shape, g, p.DType, std: 0.4); p.Data.CopyFrom(r); }
        var ids = Tensor.FromArray(new long[] { 1, 5, 12, 7, 3 }, [1, 5]);
        var reference = m.Forward(ids).Data;
        // Row 0: two trailing pads; row 1: two leading pads (MD-TPE and MD-LRPE are relative, so a shift changes nothing).
        var batch = Tensor.FromArray(new long[] { 1, 5, 12, 7, 3, 0, 0, 0, 0, 1, 5, 12, 7, 3 }, [2, 7]);
        var mask = Tensor.FromArray(new long[] { 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1 }, [2, 7]);
        var logits = m.Forward(batch, mask).Data;
        Reference.Close(logits.Narrow(0, 0, 1).Narrow(1, 0, 5), reference, 1e-10, "right-padded");
        Reference.Close(logits.Narrow(0, 1, 1).Narrow(1, 2, 5), reference, 1e-10, "left-padded");
        Assert.That(logits.ToDoubleArray().All(double.IsFinite), Is.True);
    }
}
