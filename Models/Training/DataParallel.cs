using LightNet.Autograd;
using LightNet.Distributed;

namespace LightNet.Models.Training;

/// <summary>
/// The data-parallel side of a training step: parameters broadcast from rank 0 at start, gradients averaged over
/// ranks in flat buckets (one all-reduce per bucket of about <see cref="BucketBytes"/>), and a weight checksum
/// compared across ranks so a divergence is caught, not silently trained on. With one rank every call is free.
/// </summary>
public sealed class DataParallel(ICollective collective, IReadOnlyList<Variable> parameters)
{
    /// <summary>Target size of one gradient bucket.</summary>
    public const long BucketBytes = 16L << 20;

    /// <summary>The communicator.</summary>
    public ICollective Collective => collective;

    /// <summary>Makes every rank's parameters equal to rank 0's.</summary>
    public void BroadcastParameters()
    {
        if (collective.WorldSize == 1) return;
        foreach (var p in parameters) collective.Broadcast(p.Data, 0);
    }

    /// <summary>Replaces each gradient by its mean over ranks (missing gradients count as zeros).</summary>
    public void AverageGradients()
    {
        int world = collective.WorldSize;
        if (world == 1) return;
        var bucket = new List<Variable>();
        long bytes = 0;
        foreach (var p in parameters)
        {
            p.Grad ??= Tensor.Zeros(p.Data.Shape, p.Data.DType, p.Data.Device);
            bucket.Add(p);
            bytes += p.Data.Numel * p.Data.DType.Size();
            if (bytes >= BucketBytes) { Reduce(bucket, world); bucket.Clear(); bytes = 0; }
        }
        if (bucket.Count > 0) Reduce(bucket, world);
    }

    private void Reduce(List<Variable> bucket, int world)
    {
        using var scope = DisposalScope.Begin();
        var flat = Tensor.Concat(bucket.Select(p => p.Grad!.Reshape(-1)).ToList());
        collective.AllReduceSum(flat);
        flat.Mul_(1.0 / world);
        long at = 0;
        foreach (var p in bucket)
        {
            long n = p.Data.Numel;
            using var part = flat.Narrow(0, (int)at, (int)n);
            using var shaped = part.Reshape(p.Grad!.Shape.ToArray());
            p.Grad!.CopyFrom(shaped);
            at += n;
        }
    }

    /// <summary>Mean of a scalar over ranks (e.g. the loss for logging).</summary>
    public double Mean(double value)
    {
        if (collective.WorldSize == 1) return value;
        using var t = Tensor.FromArray([value]);
        collective.AllReduceSum(t);
        return t.ToArray<double>()[0] / collective.WorldSize;
    }

    /// <summary>Throws when any rank's weights differ from rank 0's (compares a float64 checksum bit for bit).</summary>
    public void CheckAgreement(long step)
    {
        if (collective.WorldSize == 1) return;
        double local = 0;
        int i = 0;
        foreach (var p in parameters)
        {
            using var d = p.Data.To(DType.Float64);
            using var a = d.Abs();
            using var s = a.Sum();
            local += ++i * s.Item();
        }
        using var mine = Tensor.FromArray([local]);
        using var root = mine.Clone();
        collective.Broadcast(root, 0);
        double r0 = root.ToArray<double>()[0];
        using var differs = Tensor.FromArray([r0 == local ? 0.0 : 1.0]);
        collective.AllReduceSum(differs);
        if (differs.ToArray<double>()[0] != 0)
            throw new InvalidOperationException($"data-parallel: weights differ between ranks at step {step} (rank {collective.Rank}: checksum {local:R}, rank 0: {r0:R})");
    }
}
