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
        using var ema = new LightNet.Models.Optim.ExponentialMovingAverage([p], 0.9, warmup: false);
        p.Data.CopyFrom(Tensor.FromArray(new double[] { 3, 6 }));
        ema.Update();
        Assert.That(ema.Shadow[0].ToDoubleArray(), Is.EqualTo(new[] { 0.9 * 1 + 0.1 * 3, 0.9 * 2 + 0.1 * 6 }).Within(1e-15));
        ema.CopyTo();
        Assert.That(p.Data.ToDoubleArray(), Is.EqualTo(new[] { 1.2, 2.4 }).Within(1e-15));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LightNet.Models.Optim.ExponentialMovingAverage([p], 1.5));
    }

    /// <summary>d_t = min(d, (1 + t)/(10 + t)): 0.1, 2/11, 3/12, … until it reaches d.</summary>
    [Test]
    public void EmaDecayWarmsUp()
    {
        using var s = DisposalScope.Begin();
        var p = new Variable(Tensor.FromArray(new double[] { 0 }), true);
        using var ema = new LightNet.Models.Optim.ExponentialMovingAverage([p], 0.9);
        Assert.That(Enumerable.Range(0, 6).Select(t => ema.DecayAt(t)), Is.EqualTo(new[] { 1 / 10.0, 2 / 11.0, 3 / 12.0, 4 / 13.0, 5 / 14.0, 6 / 15.0 }).Within(1e-15));
        Assert.That(ema.DecayAt(80), Is.EqualTo(0.9).Within(1e-15), "81/90 = 0.9");
        Assert.That(ema.DecayAt(81), Is.EqualTo(0.9), "capped at d");
        Assert.That(ema.DecayAt(10_000), Is.EqualTo(0.9));
        // The recurrence uses d_t with t counted by Update().
        double expect = 0;
        for (int t = 0; t < 5; t++)
        {
            Assert.That(ema.Updates, Is.EqualTo(t));
            p.Data.CopyFrom(Tensor.FromArray(new double[] { t + 1.0 }));
            ema.Update();
            double d = Math.Min(0.9, (1.0 + t) / (10.0 + t));
            expect = d * expect + (1 - d) * (t + 1.0);
            Assert.That(ema.Shadow[0].ToDoubleArray()[0], Is.EqualTo(expect).Within(1e-14), $"update {t}");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ema.RestoreUpdates(-1));
        ema.RestoreUpdates(80);
        Assert.That(ema.Updates, Is.EqualTo(80));
    }

    /// <summary>With DiT's decay, a few updates already bring the EMA close to moving weights (it used to stay at the init).</summary>
    [Test]
    public void EmaIsCloseToTheWeightsAfterFewSteps()
    {
        using var s = DisposalScope.Begin();
        var g = new Generator(7);
        var init = Tensor.RandN([64], g, DType.Float64).ToDoubleArray();
        var target = Tensor.RandN([64], g, DType.Float64).ToDoubleArray();
        var p = new Variable(Tensor.FromArray(init), true);
        using var ema = new LightNet.Models.Optim.ExponentialMovingAverage([p], 0.998);
        using var old = new LightNet.Models.Optim.ExponentialMovingAverage([p], 0.998, warmup: false);
        for (int t = 0; t < 20; t++)
        {
            p.Data.CopyFrom(Tensor.FromArray(target)); // weights jumped away from the init and stay there
            ema.Update();
            old.Update();
        }
        double Dist(Tensor a) => Math.Sqrt(a.ToDoubleArray().Zip(target, (x, y) => (x - y) * (x - y)).Sum());
        double start = Math.Sqrt(init.Zip(target, (x, y) => (x - y) * (x - y)).Sum());
        // Weight of the init after 20 warm-up updates: 9!·20!/29! ≈ 1e-7; without warm-up 0.998^20 ≈ 0.96.
        Assert.That(Dist(ema.Shadow[0]), Is.LessThan(1e-5 * start));
        Assert.That(Dist(old.Shadow[0]), Is.GreaterThan(0.9 * start));
    }
}
