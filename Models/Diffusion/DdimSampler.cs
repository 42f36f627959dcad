namespace LightNet.Models.Diffusion;

/// <summary>Predicts the noise ε for a batch: flat x_t (<c>t.Length</c> images), timesteps and labels.</summary>
public delegate float[] NoisePredictor(float[] xt, long[] t, long[] labels);

/// <summary>
/// DDIM sampling (Song et al. 2021) with classifier-free guidance: from x_T ~ N(0, I) along
/// <see cref="DiffusionSchedule.DdimTimesteps"/>, each step predicts x₀ = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t (optionally
/// clipped to [−1, 1]) and moves to <c>x_prev = √ᾱ_prev·x₀ + √(1−ᾱ_prev−σ²)·ε + σ·z</c> with
/// <c>σ = η·√((1−ᾱ_prev)/(1−ᾱ_t))·√(1−ᾱ_t/ᾱ_prev)</c>. Guidance: ε = ε_∅ + w·(ε_y − ε_∅). Deterministic: the
/// noise of image i depends only on (seed, i), so a sample does not depend on how a request is split in batches.
/// </summary>
public sealed class DdimSampler
{
    /// <summary>Samples in <paramref name="steps"/> steps along <paramref name="schedule"/>; throws <see cref="ArgumentOutOfRangeException"/> for a negative or infinite guidance or eta, or steps outside 1..T.</summary>
    public DdimSampler(DiffusionSchedule schedule, int steps = 50, double guidance = 1.0, double eta = 0.0, bool clipX0 = true)
    {
        if (!(guidance >= 0) || double.IsInfinity(guidance)) throw new ArgumentOutOfRangeException(nameof(guidance), $"ddim: guidance must be ≥ 0, got {guidance}");
        if (!(eta >= 0) || double.IsInfinity(eta)) throw new ArgumentOutOfRangeException(nameof(eta), $"ddim: eta must be ≥ 0, got {eta}");
        Schedule = schedule;
        Timesteps = schedule.DdimTimesteps(steps);
        Guidance = guidance;
        Eta = eta;
        ClipX0 = clipX0;
    }

    /// <summary>The ᾱ_t schedule sampled along.</summary>
    public DiffusionSchedule Schedule { get; }
    /// <summary>The decreasing timesteps visited.</summary>
    public long[] Timesteps { get; }
    /// <summary>Classifier-free guidance scale w (1: conditional only, 0: unconditional only).</summary>
    public double Guidance { get; }
    /// <summary>η: 0 is deterministic DDIM, 1 is DDPM-like.</summary>
    public double Eta { get; }
    /// <summary>Clip the predicted x₀ to [−1, 1] at every step.</summary>
    public bool ClipX0 { get; }

    /// <summary>The starting noise x_T of images <c>first … first+count−1</c> (standard normal, a function of seed and index).</summary>
    public static float[] InitialNoise(ulong seed, long first, int count, int perImage) => Normals(StreamKey.Of(seed, 0, 0), first, count, perImage);

    /// <summary>
    /// Samples one image per label (labels may be <paramref name="nullClass"/> for unconditional samples); returns flat
    /// images in about [−1, 1]. <paramref name="first"/> is the index of the first image in the whole request.
    /// </summary>
    public float[] Sample(NoisePredictor predict, long[] labels, int perImage, int nullClass, ulong seed, long first = 0)
    {
        int B = labels.Length;
        var x = InitialNoise(seed, first, B, perImage);
        bool guided = Guidance != 1.0;
        var yAll = guided ? [.. labels, .. Enumerable.Repeat((long)nullClass, B)] : labels;
        for (int s = 0; s < Timesteps.Length; s++)
        {
            long t = Timesteps[s], tPrev = s + 1 < Timesteps.Length ? Timesteps[s + 1] : -1;
            var eps = Guide(predict, x, t, yAll, B);
            double ab = Schedule.AlphaBar(t), abPrev = Schedule.AlphaBar(tPrev);
            double sigma = Eta * Math.Sqrt((1 - abPrev) / (1 - ab)) * Math.Sqrt(1 - ab / abPrev);
            double dirScale = Math.Sqrt(Math.Max(0, 1 - abPrev - sigma * sigma));
            var z = sigma > 0 ? Normals(StreamKey.Of(seed, (ulong)s + 1, 0), first, B, perImage) : null;
            for (int i = 0; i < x.Length; i++)
            {
                double x0 = (x[i] - Math.Sqrt(1 - ab) * eps[i]) / Math.Sqrt(ab);
                double e = eps[i];
                if (ClipX0 && Math.Abs(x0) > 1)
                {
                    x0 = Math.Clamp(x0, -1, 1);
                    e = (x[i] - Math.Sqrt(ab) * x0) / Math.Sqrt(1 - ab);
                }
                x[i] = (float)(Math.Sqrt(abPrev) * x0 + dirScale * e + (z == null ? 0 : sigma * z[i]));
            }
        }
        return x;
    }

    private float[] Guide(NoisePredictor predict, float[] x, long t, long[] yAll, int B)
    {
        var xin = yAll.Length == B ? x : [.. x, .. x];
        var eps = predict(xin, Enumerable.Repeat(t, yAll.Length).ToArray(), yAll);
        if (eps.Length != xin.Length) throw new InvalidOperationException($"ddim: the predictor returned {eps.Length} values for {xin.Length}");
        if (yAll.Length == B) return eps;
        var g = new float[x.Length];
        for (int i = 0; i < g.Length; i++) g[i] = (float)(eps[x.Length + i] + Guidance * (eps[i] - eps[x.Length + i]));
        return g;
    }

    private static float[] Normals(ulong key, long first, int count, int perImage)
    {
        var z = new float[count * perImage];
        ulong start = (ulong)first * (ulong)perImage;
        for (int i = 0; i < z.Length; i++) z[i] = (float)Generator.Normal(key, start + (ulong)i);
        return z;
    }
}
