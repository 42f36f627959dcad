using LightNet.Autograd;
using LightNet.Models.Data;
using LightNet.Models.LightNet;

namespace LightNet.Models.Training;

/// <summary>Held-out metrics of the text models over a fixed set of non-overlapping windows.</summary>
public static class TextEvaluation
{
    /// <summary>Key of the masking draws of evaluation batches (fixed, so every model sees the same masks).</summary>
    public const ulong EvalMaskSeed = 0x5EED_E7A1;

    /// <summary><paramref name="count"/> window indices spread evenly over the stream's non-overlapping windows (all when null or larger).</summary>
    public static int[] SpreadWindows(TokenWindows windows, int? count)
    {
        ArgumentNullException.ThrowIfNull(windows);
        int total = windows.SequentialCount, n = Math.Min(total, count ?? total);
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"evaluation: the number of windows must be positive, got {count}");
        return Enumerable.Range(0, n).Select(i => (int)((long)i * total / n)).ToArray();
    }

    /// <summary>Int64 ids [idx.Length, L] of the given non-overlapping windows.</summary>
    public static Tensor WindowBatch(TokenWindows windows, ReadOnlySpan<int> idx)
    {
        int L = windows.Length;
        var ids = new long[idx.Length * L];
        for (int i = 0; i < idx.Length; i++)
        {
            using var w = windows.Sequential(idx[i], 1);
            w.ToArray<long>().CopyTo(ids, i * L);
        }
        return Tensor.FromArray(ids, [idx.Length, L]);
    }

    /// <summary>Mean next-token cross-entropy (nats per predicted token) of a causal LM over the windows; <paramref name="progress"/> gets the windows done after each batch.</summary>
    public static double CausalLoss(LightNetForCausalLM model, TokenWindows windows, int[] idx, int batch, Device device, Action<int>? progress = null)
    {
        double sum = 0;
        using var ng = NoGrad.Scope();
        for (int s = 0; s < idx.Length; s += batch)
        {
            using var scope = DisposalScope.Begin();
            int n = Math.Min(batch, idx.Length - s);
            var ids = WindowBatch(windows, idx.AsSpan(s, n)).To(device);
            sum += model.Loss(ids).Data.Item() * n;
            progress?.Invoke(s + n);
        }
        return sum / idx.Length;
    }

    /// <summary>Causal-LM metrics: <c>val_loss</c> (nats/token), <c>val_ppl</c>, and <c>val_bpb</c> when the bytes per token are known.</summary>
    public static Dictionary<string, double> CausalMetrics(double loss, double? bytesPerToken)
    {
        var m = new Dictionary<string, double> { ["val_loss"] = loss, ["val_ppl"] = Math.Exp(loss) };
        if (bytesPerToken is double b) m["val_bpb"] = loss / Math.Log(2) / b;
        return m;
    }

    /// <summary>
    /// Masked-token accuracy and mean masked cross-entropy of a masked LM over the windows, masked by
    /// <paramref name="masker"/> with batch number as the step (deterministic for a fixed masker seed); <paramref name="progress"/>
    /// gets the windows done after each batch.
    /// </summary>
    public static (double Accuracy, double Loss, long Masked) MaskedAccuracy(LightNetForMaskedLM model, TokenWindows windows, int[] idx, MaskedLmBatcher masker, int batch, Device device,
        Action<int>? progress = null)
    {
        long correct = 0, total = 0;
        double lossSum = 0;
        using var ng = NoGrad.Scope();
        for (int s = 0, step = 0; s < idx.Length; s += batch, step++)
        {
            using var scope = DisposalScope.Begin();
            int n = Math.Min(batch, idx.Length - s);
            using var ids = WindowBatch(windows, idx.AsSpan(s, n));
            using var mb = masker.Mask(ids, step);
            var logits = model.Forward(mb.InputIds.To(device));
            int V = logits.Size(2);
            var flat = logits.Reshape(-1, V);
            var labels = mb.Labels.Reshape(-1);
            long masked = labels.ToArray<long>().Count(l => l != MaskedLmBatcher.IgnoreIndex);
            progress?.Invoke(s + n);
            if (masked == 0) continue;
            lossSum += Variable.CrossEntropy(flat, labels.To(device)).Data.Item() * masked;
            var pred = flat.Data.ArgMax(1).ToArray<long>();
            var lab = labels.ToArray<long>();
            for (int i = 0; i < lab.Length; i++)
            {
                if (lab[i] == MaskedLmBatcher.IgnoreIndex) continue;
                total++;
                if (pred[i] == lab[i]) correct++;
            }
        }
        if (total == 0) throw new InvalidOperationException("evaluation: no token was masked; evaluate more windows");
        return ((double)correct / total, lossSum / total, total);
    }
}
