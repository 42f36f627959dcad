using LightNet.Models.Diffusion;
using LightNet.Models.LightNet;

namespace LightNet.Tests;

public class DiffusionTests
{
    private static DiffusionSchedule Linear() => new(new LightNetDiT(new DiTConfig { HiddenSize = 8, NumHiddenLayers = 0, NumHeads = 2, ImageHeight = 4, ImageWidth = 4 }).AlphasCumprod());

    private static float[] CleanImages(int n, int per, ulong seed)
    {
        var x = new float[n * per];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(1.8 * Generator.Uniform(seed, (ulong)i) - 0.9);
        return x;
    }

    /// <summary>The noise that makes x_t from the known x₀: what a perfect model predicts.</summary>
    private static NoisePredictor Oracle(DiffusionSchedule s, float[] x0, int per) => (xt, t, y) =>
    {
        int B = x0.Length / per;
        var eps = new float[xt.Length];
        for (int i = 0; i < xt.Length; i++)
        {
            double ab = s.AlphaBar(t[i / per]);
            eps[i] = (float)((xt[i] - Math.Sqrt(ab) * x0[i % (B * per)]) / Math.Sqrt(1 - ab));
        }
        return eps;
    };

    [TestCase(50, 1.0, 0.0)]
    [TestCase(10, 3.0, 0.0)]
    [TestCase(7, 2.0, 1.0)]
    [TestCase(1000, 1.0, 0.0)]
    public void DdimWithTheTrueNoiseRecoversTheCleanImages(int steps, double guidance, double eta)
    {
        var s = Linear();
        const int per = 12;
        var x0 = CleanImages(5, per, 3);
        var got = new DdimSampler(s, steps, guidance, eta).Sample(Oracle(s, x0, per), [0, 1, 2, 3, 4], per, nullClass: 10, seed: 9);
        Assert.That(got, Is.EqualTo(x0).Within(2e-4));
    }

    [Test]
    public void SamplesAreDeterministicAndIndependentOfBatching()
    {
        var s = Linear();
        const int per = 6;
        // A predictor that ignores nothing: depends on x, t and the label.
        NoisePredictor f = (xt, t, y) => xt.Select((v, i) => (float)(0.3 * v + 0.01 * t[i / per] / 1000.0 + 0.05 * y[i / per])).ToArray();
        var sampler = new DdimSampler(s, 8, guidance: 2.5, eta: 0.5);
        long[] labels = [1, 2, 3, 4];
        var all = sampler.Sample(f, labels, per, 10, seed: 4);
        Assert.That(sampler.Sample(f, labels, per, 10, seed: 4), Is.EqualTo(all));
        var tail = sampler.Sample(f, [3, 4], per, 10, seed: 4, first: 2);
        Assert.That(tail, Is.EqualTo(all[(2 * per)..]));
        Assert.That(sampler.Sample(f, labels, per, 10, seed: 5), Is.Not.EqualTo(all));
    }

    [Test]
    public void DdimTimestepsSpanTheScheduleDownwards()
    {
        var s = Linear();
        var ts = s.DdimTimesteps(50);
        Assert.That(ts[0], Is.EqualTo(999));
        Assert.That(ts[^1], Is.EqualTo(0));
        Assert.That(ts.Zip(ts.Skip(1)).All(p => p.First > p.Second), Is.True);
        Assert.That(s.DdimTimesteps(1000), Is.EqualTo(Enumerable.Range(0, 1000).Reverse().Select(i => (long)i)));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.DdimTimesteps(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DdimSampler(s, 1001));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DdimSampler(s, 10, guidance: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DdimSampler(s, 10, eta: double.NaN));
    }

    [Test]
    public void ForwardNoisingHasTheMarginalOfQ()
    {
        var s = Linear();
        Assert.That(s.AlphaBar(0), Is.EqualTo(1 - 1e-4).Within(1e-12));
        Assert.That(s.AlphaBar(999), Is.EqualTo(Enumerable.Range(0, 1000).Aggregate(1.0, (a, i) => a * (1 - (1e-4 + (0.02 - 1e-4) * i / 999)))).Within(1e-15));
        // x₀ = 2·0.75 − 1 = 0.5 everywhere; one image per timestep of interest, many pixels each.
        const int per = 20000;
        long[] ts = [0, 250, 999];
        var px = Enumerable.Repeat(0.75f, ts.Length * per).ToArray();
        var b = s.Noised(px, [0, 1, 2], key: 11, labelDrop: 0, nullClass: 3);
        var xt = s.AddNoise(px.Select(v => 2 * v - 1).ToArray(), b.Noise, ts, per);
        for (int k = 0; k < ts.Length; k++)
        {
            var seg = xt.AsSpan(k * per, per).ToArray();
            double mean = seg.Average(v => (double)v), var = seg.Average(v => (v - mean) * (v - mean));
            double ab = s.AlphaBar(ts[k]);
            Assert.That(mean, Is.EqualTo(Math.Sqrt(ab) * 0.5).Within(4 * Math.Sqrt((1 - ab) / per) + 1e-6), $"mean at t={ts[k]}");
            Assert.That(var, Is.EqualTo(1 - ab).Within(0.05 * (1 - ab) + 1e-7), $"variance at t={ts[k]}");
        }
        // Noised() is x_t = AddNoise(x₀, ε, t) for its own t.
        Assert.That(b.Xt, Is.EqualTo(s.AddNoise(px.Select(v => 2 * v - 1).ToArray(), b.Noise, b.Timesteps, per)));
    }

    [Test]
    public void TrainingDrawsAreAFunctionOfTheKey()
    {
        var s = Linear();
        const int B = 4000;
        var px = new float[B];
        var labels = Enumerable.Range(0, B).Select(i => (long)(i % 7)).ToArray();
        var b = s.Noised(px, labels, key: 5, labelDrop: 0.1, nullClass: 7);
        var again = s.Noised(px, labels, key: 5, labelDrop: 0.1, nullClass: 7);
        Assert.That(again.Xt, Is.EqualTo(b.Xt));
        Assert.That(again.Labels, Is.EqualTo(b.Labels));
        Assert.That(s.Noised(px, labels, key: 6, labelDrop: 0.1, nullClass: 7).Timesteps, Is.Not.EqualTo(b.Timesteps));
        double dropped = b.Labels.Count(l => l == 7) / (double)B;
        Assert.That(dropped, Is.EqualTo(0.1).Within(0.02));
        Assert.That(b.Labels.Where(l => l != 7).Count(), Is.EqualTo(b.Labels.Zip(labels).Count(p => p.First == p.Second)));
        Assert.That(b.Timesteps.Min(), Is.GreaterThanOrEqualTo(0));
        Assert.That(b.Timesteps.Max(), Is.LessThan(1000));
        Assert.That(b.Timesteps.Average(), Is.EqualTo(499.5).Within(15));
        Assert.That(b.Noise.Average(v => (double)v), Is.EqualTo(0).Within(0.06));
    }
}
