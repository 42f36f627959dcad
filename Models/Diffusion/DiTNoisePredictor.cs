using LightNet.Autograd;
using LightNet.Models.LightNet;

namespace LightNet.Models.Diffusion;

/// <summary>Adapts a <see cref="LightNetDiT"/> to a <see cref="NoisePredictor"/> (no gradients, batches of at most a given size).</summary>
internal static class DiTNoisePredictor
{
    /// <summary>A predictor running the model on <paramref name="device"/>, at most <paramref name="maxBatch"/> images per forward.</summary>
    public static NoisePredictor For(LightNetDiT model, Device device, int maxBatch = 256)
    {
        var cfg = model.Config;
        int per = cfg.InChannels * cfg.ImageHeight * cfg.ImageWidth;
        return (xt, t, y) =>
        {
            var eps = new float[xt.Length];
            using var ng = NoGrad.Scope();
            for (int s = 0; s < t.Length; s += maxBatch)
            {
                int n = Math.Min(maxBatch, t.Length - s);
                using var scope = DisposalScope.Begin();
                var x = Tensor.FromArray(xt.AsSpan(s * per, n * per).ToArray(), [n, cfg.InChannels, cfg.ImageHeight, cfg.ImageWidth], device);
                var tt = Tensor.FromArray(t.AsSpan(s, n).ToArray(), [n], device);
                var yy = Tensor.FromArray(y.AsSpan(s, n).ToArray(), [n], device);
                var o = model.Forward(new Variable(x), tt, yy).Data.To(Device.Cpu).ToArray<float>();
                o.CopyTo(eps, s * per);
            }
            return eps;
        };
    }
}
