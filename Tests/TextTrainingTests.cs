using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Tests;

public class TextTrainingTests
{
    /// <summary>A learnable byte stream: a repeated phrase with a counter-based random byte every 7th position.</summary>
    private static int[] Stream(int n, ulong seed)
    {
        var phrase = "the union is strong. "u8.ToArray();
        var ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = i % 7 == 6 ? (int)(Generator.Uniform(seed, (ulong)i) * 256) : phrase[i % phrase.Length];
        return ids;
    }

    private static RunOptions Run(string dir) => new()
    {
        OutDir = dir,
        Steps = 6,
        BatchSize = 2,
        CheckpointEvery = 2,
        LogEvery = 1,
        EvalEvery = 3,
        Seed = 3,
    };

    private static LightNetConfig Lm(MixerKind mixer) => new()
    {
        VocabSize = ByteTokenizer.Instance.VocabSize,
        HiddenSize = 8,
        NumHiddenLayers = 1,
        NumHeads = 2,
        ExpandRatio = 4,
        GateLowRankDim = 3,
        IntermediateSize = 12,
        Mixer = mixer,
        Tokenizer = "byte",
        MaxPositionEmbeddings = 16,
    };

    private static MaskedLMConfig Mlm(MixerKind mixer) => new()
    {
        VocabSize = ByteTokenizer.Instance.VocabSize,
        MaskTokenId = ByteTokenizer.Mask,
        HiddenSize = 8,
        NumHiddenLayers = 1,
        NumHeads = 2,
        GateLowRankDim = 3,
        TpeRpeDim = 4,
        IntermediateSize = 12,
        Lrpe = mixer == MixerKind.LightNet,
        Mixer = mixer,
        Tokenizer = "byte",
        MaxPositionEmbeddings = 16,
    };

    private static void AssertResumeIsBitwise(Func<RunOptions, ITrainingTask> task, string metric)
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var ra = TrainingLoop.Run(Run(a.Path), task(Run(a.Path)));
        Assert.That(ra.Finished, Is.True);
        var stopped = TrainingLoop.Run(Run(b.Path) with { StopAfter = 3 }, task(Run(b.Path)));
        Assert.That(stopped.Finished, Is.False);
        var rb = TrainingLoop.Run(Run(b.Path) with { Resume = true }, task(Run(b.Path)));
        Assert.That(rb.Finished, Is.True);
        Assert.That(File.ReadAllBytes(b.File("model.safetensors")), Is.EqualTo(File.ReadAllBytes(a.File("model.safetensors"))));
        Assert.That(rb.Metrics[metric], Is.EqualTo(ra.Metrics[metric]));
        var evals = new MetricsLog(b.Path).Read().Where(r => r.ContainsKey(metric)).Select(r => r["step"].GetInt64());
        Assert.That(evals, Is.EqualTo(new long[] { 3, 6 }), "periodic and final evaluation");
    }

    [TestCase(MixerKind.LightNet)]
    [TestCase(MixerKind.Gla)]
    [TestCase(MixerKind.Softmax)]
    public void CausalLMResumeIsBitwiseIdentical(MixerKind mixer) =>
        AssertResumeIsBitwise(o => new CausalLMTask(Lm(mixer), o, Stream(600, 1), Stream(200, 2), 16, 4, 1.0), "val_bpb");

    [TestCase(MixerKind.LightNet)]
    [TestCase(MixerKind.Gla)]
    public void MaskedLMResumeIsBitwiseIdentical(MixerKind mixer) =>
        AssertResumeIsBitwise(o => new MaskedLMTask(Mlm(mixer), o, Stream(600, 3), Stream(300, 4), 16, 256, ByteTokenizer.Pad, 8), "test_masked_accuracy");

    [Test]
    public void ModelDTypeSetsTheWeightsDType()
    {
        var o = new RunOptions { OutDir = "unused", ModelDType = DType.Float64, BatchSize = 2 };
        var lm = new CausalLMTask(Lm(MixerKind.Gla), o, Stream(600, 1), Stream(200, 2), 16, 4, 1.0);
        var mlm = new MaskedLMTask(Mlm(MixerKind.Gla), o, Stream(600, 3), Stream(300, 4), 16, 256, ByteTokenizer.Pad, 8);
        Assert.That(lm.Model.Parameters().Concat(mlm.Model.Parameters()).All(p => p.Data.DType == DType.Float64), Is.True);
        using var scope = DisposalScope.Begin();
        Assert.That(double.IsFinite(lm.Loss(0, 0).Data.Item()) && double.IsFinite(mlm.Loss(0, 0).Data.Item()), Is.True);
    }

    [Test]
    public void CausalMetricsConvertNatsToBitsPerByte()
    {
        var m = TextEvaluation.CausalMetrics(Math.Log(2) * 3, 1.0);
        Assert.That(m["val_bpb"], Is.EqualTo(3).Within(1e-12));
        Assert.That(m["val_ppl"], Is.EqualTo(8).Within(1e-9));
        Assert.That(TextEvaluation.CausalMetrics(1, null).ContainsKey("val_bpb"), Is.False);
    }

    [Test]
    public void EvaluationWindowsAreSpreadAndFixed()
    {
        var w = new TokenWindows(Stream(100, 5), 10);
        Assert.That(TextEvaluation.SpreadWindows(w, 4), Is.EqualTo(new[] { 0, 2, 5, 7 }));
        Assert.That(TextEvaluation.SpreadWindows(w, null), Is.EqualTo(Enumerable.Range(0, 10)));
        Assert.That(TextEvaluation.SpreadWindows(w, 50), Has.Length.EqualTo(10));
        using var batch = TextEvaluation.WindowBatch(w, [2, 5]);
        Assert.That(batch.ToArray<long>()[..10], Is.EqualTo(Stream(100, 5)[20..30].Select(i => (long)i)));
    }
}
