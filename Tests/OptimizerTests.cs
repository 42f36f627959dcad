using LightNet.Autograd;
using LightNet.Models.Optim;

namespace LightNet.Tests;

public class OptimizerTests
{
    [Test]
    public void AdamWMatchesReferenceFormula([Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var s = DisposalScope.Begin();
        var p0 = Reference.Randn([37], DType.Float64, 1).ToDoubleArray();
        var p = new Variable(Tensor.FromArray(p0).To(dt), true);
        var opt = new AdamW([p], lr: 0.01, weightDecay: 0.1);
        var rp = (double[])p0.Clone(); var m = new double[37]; var v = new double[37];
        for (int step = 1; step <= 5; step++)
        {
            var g = Reference.Randn([37], DType.Float64, (ulong)(10 + step)).ToDoubleArray();
            p.Grad = DisposalScope.Detach(Tensor.FromArray(g).To(dt));
            opt.Step();
            for (int i = 0; i < 37; i++)
            {
                rp[i] *= 1 - 0.01 * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                double mh = m[i] / (1 - Math.Pow(0.9, step)), vh = v[i] / (1 - Math.Pow(0.999, step));
                rp[i] -= 0.01 * mh / (Math.Sqrt(vh) + 1e-8);
            }
            p.ZeroGrad();
        }
        Reference.Close(p.Data, rp, dt == DType.Float64 ? 1e-13 : 1e-6);
    }

    [Test]
    public void SgdMomentumAndClipping()
    {
        using var s = DisposalScope.Begin();
        var p = new Variable(Tensor.FromArray(new double[] { 1, 2 }), true);
        var opt = new Sgd([p], lr: 0.1, momentum: 0.9);
        p.Grad = DisposalScope.Detach(Tensor.FromArray(new double[] { 3, 4 }));
        Assert.That(opt.ClipGradNorm(1.0), Is.EqualTo(5).Within(1e-12));
        Assert.That(p.Grad!.ToDoubleArray(), Is.EqualTo(new[] { 0.6, 0.8 }).Within(1e-6));
        opt.Step();
        Assert.That(p.Data.ToDoubleArray(), Is.EqualTo(new[] { 1 - 0.06, 2 - 0.08 }).Within(1e-6));
        opt.Step();
        Assert.That(p.Data.ToDoubleArray(), Is.EqualTo(new[] { 0.94 - 0.1 * (0.9 * 0.6 + 0.6), 1.92 - 0.1 * (0.9 * 0.8 + 0.8) }).Within(1e-6));
        Assert.That(Schedules.WarmupCosine(0, 10, 100, 1.0), Is.EqualTo(0.1).Within(1e-12));
        Assert.That(Schedules.WarmupCosine(100, 10, 100, 1.0, 0.1), Is.EqualTo(0.1).Within(1e-12));
    }
}

public class EmaTests
{
    [Test]
    public void EmaFollowsTheRecurrence()
    {
        using var s = DisposalScope.Begin();
        var p = new Variable(Tensor.FromArray(new double[] { 1, 2 }), true);
        using var ema = new LightNet.Models.Optim.ExponentialMovingAverage([p], 0.9);
        p.Data.CopyFrom(Tensor.FromArray(new double[] { 3, 6 }));
        ema.Update();
        Assert.That(ema.Shadow[0].ToDoubleArray(), Is.EqualTo(new[] { 0.9 * 1 + 0.1 * 3, 0.9 * 2 + 0.1 * 6 }).Within(1e-15));
        ema.CopyTo();
        Assert.That(p.Data.ToDoubleArray(), Is.EqualTo(new[] { 1.2, 2.4 }).Within(1e-15));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LightNet.Models.Optim.ExponentialMovingAverage([p], 1.5));
    }
}
