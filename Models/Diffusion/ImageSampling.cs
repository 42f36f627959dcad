using LightNet.Models.LightNet;

namespace LightNet.Models.Diffusion;

/// <summary>Loading a trained DiT run and drawing class-conditional samples from it with <see cref="DdimSampler"/>.</summary>
public static class ImageSampling
{
    /// <summary>The EMA weights file the training loop writes next to <c>model.safetensors</c>.</summary>
    public const string EmaFile = "model_ema.safetensors";

    /// <summary>Loads a DiT run directory onto a device: the EMA weights when present and <paramref name="preferEma"/>, else model.safetensors.</summary>
    public static LightNetDiT LoadRun(string dir, Device device, bool preferEma = true)
    {
        var cfg = DiTConfig.FromJson(Checkpoint.ReadConfig(dir), Path.Combine(dir, "config.json"));
        var model = new LightNetDiT(cfg, new Generator(0));
        bool ema = preferEma && File.Exists(Path.Combine(dir, EmaFile));
        Checkpoint.LoadWeights(dir, model, ema ? EmaFile : "model.safetensors");
        model.To(device);
        return model;
    }

    /// <summary>A DDIM sampler over the model's own noise schedule.</summary>
    public static DdimSampler Sampler(LightNetDiT model, int steps, double guidance, double eta = 0) =>
        new(new DiffusionSchedule(model.AlphasCumprod()), steps, guidance, eta);

    /// <summary>Samples one image per label in chunks of <paramref name="chunk"/>; <paramref name="progress"/> gets the count done.</summary>
    public static float[] Sample(LightNetDiT model, Device device, DdimSampler sampler, long[] labels, ulong seed, int chunk = 250, Action<int>? progress = null)
    {
        var cfg = model.Config;
        int per = cfg.InChannels * cfg.ImageHeight * cfg.ImageWidth;
        var predict = DiTNoisePredictor.For(model, device, 2 * chunk);
        var all = new float[(long)labels.Length * per];
        for (int s = 0; s < labels.Length; s += chunk)
        {
            int n = Math.Min(chunk, labels.Length - s);
            sampler.Sample(predict, labels.AsSpan(s, n).ToArray(), per, cfg.NullClassId, seed, s).CopyTo(all, (long)s * per);
            progress?.Invoke(s + n);
        }
        return all;
    }

    /// <summary>Labels <c>0,0,…,1,1,…</c>: <paramref name="perClass"/> of each class in order (one grid row per class).</summary>
    public static long[] ClassRows(int classes, int perClass) =>
        Enumerable.Range(0, classes).SelectMany(c => Enumerable.Repeat((long)c, perClass)).ToArray();

    /// <summary>Labels <c>i mod classes</c> for i &lt; n (balanced classes).</summary>
    public static long[] Balanced(int classes, int n) => Enumerable.Range(0, n).Select(i => (long)(i % classes)).ToArray();
}
