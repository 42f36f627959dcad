using LightNet.Autograd;
using LightNet.Kernels.Cuda;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;
using LightNet.Models.Optim;

namespace LightNet.Tests;

/// <summary>One training step of each model on the GPU against the same step on the CPU (float32, TF32 off), and no device memory left behind.</summary>
public class CudaModelStepTests
{
    private static Tensor Ints(int[] shape, int bound, ulong seed)
    {
        var u = Tensor.Rand(shape, new Generator(seed), DType.Float64).ToDoubleArray();
        return Tensor.FromArray(u.Select(x => (long)(x * bound)).ToArray(), shape);
    }

    public static IEnumerable<TestCaseData> Models()
    {
        yield return new TestCaseData("causal_lm", (Func<Module>)(() => new LightNetForCausalLM(CausalLMTests.Tiny with { UseLrpe = true, UseTpe = true, TpeRpeDim = 4 }, new Generator(1))),
            (Func<Module, Device, Variable>)((m, d) => ((LightNetForCausalLM)m).Loss(Ints([2, 13], 11, 2).To(d)))).SetName("CausalLM");
        yield return new TestCaseData("causal_lm_short_conv", (Func<Module>)(() => new LightNetForCausalLM(CausalLMTests.Tiny with { UseShortConv = true, ConvSize = 4 }, new Generator(1))),
            (Func<Module, Device, Variable>)((m, d) => ((LightNetForCausalLM)m).Loss(Ints([2, 13], 11, 2).To(d)))).SetName("CausalLMShortConv");
        var mlm = new MaskedLMConfig { VocabSize = 13, HiddenSize = 8, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 3, TpeRpeDim = 4, IntermediateSize = 12, MaskTokenId = 12 };
        yield return new TestCaseData("masked_lm", (Func<Module>)(() => new LightNetForMaskedLM(mlm, new Generator(3))),
            (Func<Module, Device, Variable>)((m, d) => ((LightNetForMaskedLM)m).Loss(Ints([2, 9], 12, 4).To(d), Ints([2, 9], 12, 5).To(d)))).SetName("MaskedLM");
        var cls = new ImageClassifierConfig { InChannels = 2, ImageHeight = 6, ImageWidth = 4, PatchSize = 2, HiddenSize = 8, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 3, NumClasses = 5, TpeRpeDim = 4, IntermediateSize = 12 };
        yield return new TestCaseData("classifier", (Func<Module>)(() => new LightNetForImageClassification(cls, new Generator(6))),
            (Func<Module, Device, Variable>)((m, d) => ((LightNetForImageClassification)m).Loss(new Variable(Reference.Randn([3, 2, 6, 4], DType.Float32, 7).To(d)), Ints([3], 5, 8).To(d)))).SetName("ImageClassifier");
        var dit = new DiTConfig { InChannels = 1, ImageHeight = 4, ImageWidth = 6, PatchSize = 2, HiddenSize = 8, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 3, NumClasses = 3, TpeRpeDim = 4, IntermediateSize = 12, TimestepEmbeddingDim = 8 };
        yield return new TestCaseData("dit", (Func<Module>)(() => new LightNetDiT(dit, new Generator(9), zeroInit: false)),
            (Func<Module, Device, Variable>)((m, d) => ((LightNetDiT)m).Loss(new Variable(Reference.Randn([2, 1, 4, 6], DType.Float32, 10).To(d)), Ints([2], 1000, 11).To(d), Ints([2], 3, 12).To(d),
                Reference.Randn([2, 1, 4, 6], DType.Float32, 13).To(d)))).SetName("DiT");
        foreach (var mixer in new[] { MixerKind.Gla, MixerKind.Softmax })
        {
            var dm = dit with { Mixer = mixer, Tpe = false, Lrpe = false };
            yield return new TestCaseData("classifier_" + mixer.Name(), (Func<Module>)(() => new LightNetForImageClassification(VideoModelTests.TinyImage(mixer), new Generator(6))),
                (Func<Module, Device, Variable>)((m, d) => ((LightNetForImageClassification)m).Loss(new Variable(Reference.Randn([3, 1, 6, 4], DType.Float32, 7).To(d)), Ints([3], 3, 8).To(d))))
                .SetName("ImageClassifier" + mixer);
            yield return new TestCaseData("dit_" + mixer.Name(), (Func<Module>)(() => new LightNetDiT(dm, new Generator(9), zeroInit: false)),
                (Func<Module, Device, Variable>)((m, d) => ((LightNetDiT)m).Loss(new Variable(Reference.Randn([2, 1, 4, 6], DType.Float32, 10).To(d)), Ints([2], 1000, 11).To(d), Ints([2], 3, 12).To(d),
                    Reference.Randn([2, 1, 4, 6], DType.Float32, 13).To(d)))).SetName("DiT" + mixer);
        }
        // The video classifier on a 2×2×2 tubelet grid (3-D MD-TPE, and 3-D MD-LRPE / 6 scans / 3-D rotary by mixer).
        foreach (var mixer in Enum.GetValues<MixerKind>())
            yield return new TestCaseData("video_" + mixer.Name(), (Func<Module>)(() => new LightNetForVideoClassification(VideoModelTests.TinyVideo(mixer), new Generator(14))),
                (Func<Module, Device, Variable>)((m, d) => ((LightNetForVideoClassification)m).Loss(new Variable(Reference.Randn([3, 1, 4, 4, 4], DType.Float32, 15).To(d)), Ints([3], 3, 16).To(d))))
                .SetName("VideoClassifier" + mixer);
    }

    [TestCaseSource(nameof(Models))]
    public void TrainingStepMatchesCpu(string name, Func<Module> build, Func<Module, Device, Variable> loss)
    {
        var dev = Gpu.Require();
        var backend = CudaBackend.For(dev.Index);
        Module cpu = build(), gpu = build();
        var g = new Generator(77);
        foreach (var p in cpu.Parameters()) { using var r = Tensor.RandN(p.Data.Shape, g, p.Data.DType, std: 0.3); p.Data.CopyFrom(r); }
        foreach (var (a, b) in gpu.Parameters().Zip(cpu.Parameters())) a.Data.CopyFrom(b.Data);
        gpu.To(dev);
        var optCpu = new Sgd(cpu.Parameters(), 0.1, momentum: 0.9);
        var optGpu = new Sgd(gpu.Parameters(), 0.1, momentum: 0.9);
        // One step to create the momentum buffers, then measure the device memory of a second step.
        double StepOn(Module m, Sgd opt, Device d, bool compare)
        {
            using var scope = DisposalScope.Begin();
            var l = loss(m, d);
            l.Backward();
            if (compare && d == dev)
                foreach (var ((n, pg), (_, pc)) in gpu.NamedParameters().Zip(cpu.NamedParameters()))
                    Assert.That(Gpu.NormErr(pg.Grad!.To(Device.Cpu).ToDoubleArray(), pc.Grad!.ToDoubleArray()), Is.LessThanOrEqualTo(1e-10), $"{name}: grad of {n}");
            opt.Step();
            return l.Data.Item();
        }
        for (int step = 0; step < 2; step++)
        {
            double lc = StepOn(cpu, optCpu, Device.Cpu, false);
            backend.Synchronize();
            long before = backend.Allocator.BytesInUse;
            double lg = StepOn(gpu, optGpu, dev, true);
            Assert.That(lg, Is.EqualTo(lc).Within(1e-5 * Math.Max(1, Math.Abs(lc))), $"{name}: loss at step {step}");
            optCpu.ZeroGrad();
            optGpu.ZeroGrad();
            backend.Synchronize();
            if (step == 1) Assert.That(backend.Allocator.BytesInUse, Is.EqualTo(before), $"{name}: device bytes after a step (scope, ZeroGrad)");
        }
        foreach (var ((n, pg), (_, pc)) in gpu.NamedParameters().Zip(cpu.NamedParameters()))
            Assert.That(Gpu.NormErr(pg.Data.To(Device.Cpu).ToDoubleArray(), pc.Data.ToDoubleArray()), Is.LessThanOrEqualTo(1e-10), $"{name}: {n} after two SGD steps");
    }
}
