namespace LightNet.Models.Optim;

/// <summary>Learning-rate schedules.</summary>
public static class Schedules
{
    /// <summary>Linear warm-up to <paramref name="peak"/> over <paramref name="warmup"/> steps, then cosine decay to <paramref name="minLr"/> at <paramref name="total"/>.</summary>
    public static double WarmupCosine(long step, long warmup, long total, double peak, double minLr = 0)
    {
        if (step < warmup) return peak * (step + 1) / warmup;
        if (total <= warmup) return peak;
        double progress = Math.Min(1.0, (double)(step - warmup) / Math.Max(1, total - warmup));
        return minLr + 0.5 * (peak - minLr) * (1 + Math.Cos(Math.PI * progress));
    }
}
