namespace LightNet.Models.Diffusion;

/// <summary>A noised training batch: x_t, the noise ε that made it, timesteps and (possibly dropped) labels.</summary>
public sealed record NoisedBatch(float[] Xt, float[] Noise, long[] Timesteps, long[] Labels);

/// <summary>
/// The DDPM forward process over <c>ᾱ_t</c> (0-based t): <c>x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε</c>, and the evenly
/// spaced timestep subsequences DDIM samples along.
/// </summary>
public sealed class DiffusionSchedule
{
    private readonly double[] _alphaBar;

    /// <summary>Wraps the cumulative products ᾱ_t (decreasing, in (0, 1)).</summary>
    public DiffusionSchedule(double[] alphasCumprod)
    {
        if (alphasCumprod.Length == 0) throw new ArgumentException("diffusion schedule: no steps");
        for (int i = 0; i < alphasCumprod.Length; i++)
            if (!(alphasCumprod[i] > 0 && alphasCumprod[i] < 1) || (i > 0 && alphasCumprod[i] > alphasCumprod[i - 1]))
                throw new ArgumentException($"diffusion schedule: ᾱ[{i}] = {alphasCumprod[i]} must be in (0, 1) and non-increasing");
        _alphaBar = (double[])alphasCumprod.Clone();
    }

    /// <summary>Number of diffusion steps T.</summary>
    public int Steps => _alphaBar.Length;

    /// <summary>ᾱ_t for a 0-based timestep; t = −1 gives 1 (the clean image).</summary>
    public double AlphaBar(long t) => t < 0 ? 1.0 : _alphaBar[t];

    /// <summary><c>n</c> timesteps from T−1 down to 0, evenly spaced (rounded), strictly decreasing.</summary>
    public long[] DdimTimesteps(int n)
    {
        if (n < 1 || n > Steps) throw new ArgumentOutOfRangeException(nameof(n), $"ddim: steps must be in 1..{Steps}, got {n}");
        var ts = new long[n];
        for (int i = 0; i < n; i++) ts[i] = n == 1 ? Steps - 1 : (long)Math.Round((double)(Steps - 1) * (n - 1 - i) / (n - 1));
        return ts;
    }

    /// <summary>x_t for images x₀ (flat, <paramref name="perImage"/> values each), noise ε and one timestep per image.</summary>
    public float[] AddNoise(ReadOnlySpan<float> x0, ReadOnlySpan<float> noise, long[] t, int perImage)
    {
        if (x0.Length != noise.Length || x0.Length != t.Length * perImage)
            throw new ArgumentException($"add noise: x0 ({x0.Length}), noise ({noise.Length}) and {t.Length} timesteps × {perImage} do not match");
        var xt = new float[x0.Length];
        for (int b = 0; b < t.Length; b++)
        {
            double a = Math.Sqrt(AlphaBar(t[b])), s = Math.Sqrt(1 - AlphaBar(t[b]));
            for (int j = b * perImage; j < (b + 1) * perImage; j++) xt[j] = (float)(a * x0[j] + s * noise[j]);
        }
        return xt;
    }

    /// <summary>
    /// A training batch from images in [0, 1]: x₀ = 2·x − 1, t uniform in [0, T), ε standard normal, and each label
    /// replaced by <paramref name="nullClass"/> with probability <paramref name="labelDrop"/>. Every draw is a
    /// function of <paramref name="key"/> only (three derived streams).
    /// </summary>
    public NoisedBatch Noised(ReadOnlySpan<float> images01, long[] labels, ulong key, double labelDrop, int nullClass)
    {
        int B = labels.Length, per = images01.Length / Math.Max(1, B);
        if (per * B != images01.Length) throw new ArgumentException($"noised batch: {images01.Length} pixels for {B} images");
        ulong kt = StreamKey.Of(key, 0, 1), kn = StreamKey.Of(key, 0, 2), kd = StreamKey.Of(key, 0, 3);
        var t = new long[B];
        var y = new long[B];
        for (int b = 0; b < B; b++)
        {
            t[b] = Math.Min(Steps - 1, (long)(Generator.Uniform(kt, (ulong)b) * Steps));
            y[b] = Generator.Uniform(kd, (ulong)b) < labelDrop ? nullClass : labels[b];
        }
        var x0 = new float[images01.Length];
        var noise = new float[images01.Length];
        for (int i = 0; i < x0.Length; i++)
        {
            x0[i] = 2 * images01[i] - 1;
            noise[i] = (float)Generator.Normal(kn, (ulong)i);
        }
        return new NoisedBatch(AddNoise(x0, noise, t, per), noise, t, y);
    }
}
