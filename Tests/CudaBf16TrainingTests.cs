using LightNet.Autograd;
using LightNet.Models.LightNet;
using LightNet.Models.Optim;

namespace LightNet.Tests;

/// <summary>The causal LM trained with bfloat16 storage on CUDA (the <c>bf16w</c> mode): the same loss and gradients as float32 within bf16 precision, and AdamW with clipping on bf16 weights lowers the loss.</summary>
[Category("Cuda")]
public class CudaBf16TrainingTests
{
    private static Tensor Ids(int b, int t, int v, ulong seed)
    {
        var u = Tensor.Rand([b, t], new Generator(seed), DType.Float64).ToDoubleArray();
        return Tensor.FromArray(u.Select(x => (long)(x * v)).ToArray(), [b, t]);
    }

    [Test]
    public void CausalLMStepInBf16MatchesFloat32AndTrains()
    {
        var dev = Gpu.Require();
        var cfg = CausalLMTests.Tiny with { VocabSize = 37, HiddenSize = 32, ExpandRatio = 8, IntermediateSize = 48, InitializerRange = 0.1 };
        var f32 = new LightNetForCausalLM(cfg, new Generator(5));
        // Both models start from the same bf16-representable weights.
        foreach (var p in f32.Parameters())
        {
            using var r = p.Data.To(DType.BFloat16);
            using var b = r.To(DType.Float32);
            p.Data.CopyFrom(b);
        }
        var b16 = new LightNetForCausalLM(cfg, new Generator(5));
        foreach (var (a, b) in b16.Parameters().Zip(f32.Parameters())) a.Data.CopyFrom(b.Data);
        b16.To(dev, DType.BFloat16);
        f32.To(dev);
        using var ids = Ids(2, 70, cfg.VocabSize, 3).To(dev);
        using (DisposalScope.Begin())
        {
            var l16 = b16.Loss(ids);
            var l32 = f32.Loss(ids);
            Assert.That(l16.DType, Is.EqualTo(DType.BFloat16));
            l16.Backward();
            l32.Backward();
            double a = l16.Data.Item(), e = l32.Data.Item();
            Assert.That(a, Is.EqualTo(e).Within(0.02 * Math.Abs(e)), "loss");
            foreach (var ((n, p16), (_, p32)) in b16.NamedParameters().Zip(f32.NamedParameters()))
            {
                Assert.That(p16.Grad!.DType, Is.EqualTo(DType.BFloat16), n);
                using var g = p16.Grad.To(DType.Float32);
                double err = Gpu.NormErr(g.ToDoubleArray(), p32.Grad!.ToDoubleArray());
                Assert.That(err, Is.LessThanOrEqualTo(1e-3), $"grad of {n}: normalised error {err:G3}");
            }
        }
        var opt = new AdamW(b16.Parameters().ToList(), lr: 1e-2, weightDecay: 0.01);
        opt.ZeroGrad();
        var losses = new List<double>();
        for (int step = 0; step < 12; step++)
        {
            using var s = DisposalScope.Begin();
            var l = b16.Loss(ids);
            l.Backward();
            double norm = opt.ClipGradNorm(1.0);
            Assert.That(double.IsFinite(norm), Is.True, $"gradient norm at step {step}");
            opt.Step();
            opt.ZeroGrad();
            losses.Add(l.Data.Item());
        }
        Assert.That(losses.All(double.IsFinite), Is.True, string.Join(", ", losses));
        Assert.That(losses[^1], Is.LessThan(0.8 * losses[0]), "AdamW on bf16 weights lowers the loss: " + string.Join(", ", losses.Select(x => x.ToString("F3"))));
        Assert.That(b16.Parameters().All(p => p.Data.DType == DType.BFloat16), Is.True, "weights stay bfloat16");
    }
}
