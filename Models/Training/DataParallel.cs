using LightNet.Autograd;
using LightNet.Distributed;

namespace LightNet.Models.Training;

/// <summary>
/// The data-parallel side of a training step: parameters broadcast from rank 0 at start, gradients averaged over
/// ranks in flat buckets (one all-reduce per bucket of about <see cref="BucketBytes"/>), and a weight checksum
/// compared across ranks so a divergence is caught, not silently trained on. With one rank every call is free.
/// <para>
/// Buckets hold the parameters in reverse order (the order in which the backward pass usually finishes their
/// gradients). With <see cref="Backward"/> on a step's last micro-batch, each bucket's all-reduce is started
/// (<see cref="ICollective.StartAllReduceSum"/>) as soon as all its gradients are final, while the backward pass
/// goes on; buckets are started in index order on every rank (a bucket that is ready early waits for those before
/// it). <see cref="FinishGradients"/> then waits for them and divides by the world size, giving bitwise the result
/// of <see cref="AverageGradients"/>.
/// </para>
/// </summary>
public sealed class DataParallel
{
    /// <summary>Target size of one gradient bucket.</summary>
    public const long BucketBytes = 16L << 20;

    private readonly ICollective _collective;
    private readonly IReadOnlyList<Variable> _parameters;
    private readonly int[][] _buckets;      // parameter indices, reverse parameter order
    private readonly int[] _bucketOf;       // parameter index → bucket
    private readonly int[] _missing;        // per bucket: gradients not final yet (overlapped pass)
    private readonly List<(int Bucket, Tensor Flat, ICollectiveWork Work)> _started = [];
    private int _nextStart;
    private bool _overlapping;

    /// <summary>Data parallelism over <paramref name="collective"/> for <paramref name="parameters"/>, in buckets of about <paramref name="bucketBytes"/> bytes.</summary>
    public DataParallel(ICollective collective, IReadOnlyList<Variable> parameters, long bucketBytes = BucketBytes)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentNullException.ThrowIfNull(parameters);
        if (bucketBytes <= 0) throw new ArgumentOutOfRangeException(nameof(bucketBytes), $"data-parallel: bucket size must be positive, got {bucketBytes}");
        _collective = collective;
        _parameters = parameters;
        var buckets = new List<int[]>();
        var bucket = new List<int>();
        long bytes = 0;
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            bucket.Add(i);
            bytes += parameters[i].Data.Numel * parameters[i].Data.DType.Size();
            if (bytes >= bucketBytes) { buckets.Add([.. bucket]); bucket.Clear(); bytes = 0; }
        }
        if (bucket.Count > 0) buckets.Add([.. bucket]);
        _buckets = [.. buckets];
        _bucketOf = new int[parameters.Count];
        for (int b = 0; b < _buckets.Length; b++)
            foreach (int i in _buckets[b]) _bucketOf[i] = b;
        _missing = new int[_buckets.Length];
    }

    /// <summary>The communicator.</summary>
    public ICollective Collective => _collective;

    /// <summary>Parameter indices (into the list given at construction) of each gradient bucket, in the order the buckets are reduced.</summary>
    public IReadOnlyList<IReadOnlyList<int>> Buckets => _buckets;

    /// <summary>Makes every rank's parameters equal to rank 0's.</summary>
    public void BroadcastParameters()
    {
        if (_collective.WorldSize == 1) return;
        foreach (var p in _parameters) _collective.Broadcast(p.Data, 0);
    }

    /// <summary>
    /// Runs <paramref name="loss"/>.Backward(). With <paramref name="reduce"/> (a step's last micro-batch) and more
    /// than one rank, every gradient bucket's all-reduce is started during the pass, as soon as its gradients are
    /// final; call <see cref="FinishGradients"/> before the gradients are used.
    /// </summary>
    public void Backward(Variable loss, bool reduce)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (!reduce || _collective.WorldSize == 1)
        {
            loss.Backward();
            return;
        }
        if (_overlapping) throw new InvalidOperationException("data-parallel: the previous overlapped backward pass was not finished (call FinishGradients before the next one)");
        _overlapping = true;
        _nextStart = 0;
        for (int b = 0; b < _buckets.Length; b++) _missing[b] = _buckets[b].Length;
        try
        {
            loss.Backward(null, _parameters, OnGradReady);
            // The autograd reports every watched leaf, also those without a gradient in this pass: all buckets started.
            if (_nextStart != _buckets.Length)
                throw new InvalidOperationException($"data-parallel: only {_nextStart} of {_buckets.Length} gradient buckets were started during the backward pass");
        }
        catch
        {
            // Leave no work in flight and no half-finished pass behind: wait for what was started, free it, rethrow.
            foreach (var st in _started)
            {
                try { st.Work.Wait(); }
#pragma warning disable CA1031 // the backward's own exception is the one to report
                catch (Exception) { }
#pragma warning restore CA1031
                st.Flat.Dispose();
            }
            _started.Clear();
            _overlapping = false;
            throw;
        }
    }

    private void OnGradReady(int parameter)
    {
        if (--_missing[_bucketOf[parameter]] > 0) return;
        while (_nextStart < _buckets.Length && _missing[_nextStart] == 0) Start(_nextStart++);
    }

    /// <summary>Copies a bucket's gradients (zeros where missing) into one flat tensor and starts its all-reduce.</summary>
    private void Start(int b)
    {
        var flat = Flatten(b);
        try { _started.Add((b, flat, _collective.StartAllReduceSum(flat))); }
        catch
        {
            flat.Dispose();
            throw;
        }
    }

    /// <summary>A bucket's gradients (zeros where missing) copied into one new flat tensor that no disposal scope owns.</summary>
    private Tensor Flatten(int b)
    {
        using var scope = DisposalScope.Begin();
        return DisposalScope.Detach(Tensor.Concat(_buckets[b].Select(i => Grad(_parameters[i]).Reshape(-1)).ToList()));
    }

    /// <summary>The gradient of a parameter, created as zeros (outside every disposal scope) when it has none.</summary>
    private static Tensor Grad(Variable p) => p.Grad ??= DisposalScope.Detach(Tensor.Zeros(p.Data.Shape, p.Data.DType, p.Data.Device));

    /// <summary>
    /// Makes every gradient its mean over ranks: waits for the all-reduces started during an overlapped
    /// <see cref="Backward"/> and divides by the world size, or (when none was started this step) runs
    /// <see cref="AverageGradients"/>.
    /// </summary>
    public void FinishGradients()
    {
        if (!_overlapping)
        {
            AverageGradients();
            return;
        }
        try
        {
            foreach (var (b, flat, work) in _started)
            {
                work.Wait();
                Scatter(b, flat);
            }
        }
        finally
        {
            foreach (var s in _started) s.Flat.Dispose();
            _started.Clear();
            _overlapping = false;
        }
    }

    /// <summary>Replaces each gradient by its mean over ranks (missing gradients count as zeros), one bucket after another, after the backward pass.</summary>
    public void AverageGradients()
    {
        if (_collective.WorldSize == 1) return;
        for (int b = 0; b < _buckets.Length; b++)
        {
            using var flat = Flatten(b);
            _collective.AllReduceSum(flat);
            Scatter(b, flat);
        }
    }

    /// <summary>Divides a reduced bucket by the world size and copies it back into its parameters' gradients.</summary>
    private void Scatter(int b, Tensor flat)
    {
        using var scope = DisposalScope.Begin();
        flat.Mul_(1.0 / _collective.WorldSize);
        long at = 0;
        foreach (int i in _buckets[b])
        {
            var g = _parameters[i].Grad!;
            long n = g.Numel;
            using var part = flat.Narrow(0, (int)at, (int)n);
            using var shaped = part.Reshape(g.Shape.ToArray());
            g.CopyFrom(shaped);
            at += n;
        }
    }

    /// <summary>Mean of a scalar over ranks (e.g. the loss for logging).</summary>
    public double Mean(double value)
    {
        if (_collective.WorldSize == 1) return value;
        using var t = Tensor.FromArray([value]);
        _collective.AllReduceSum(t);
        return t.ToArray<double>()[0] / _collective.WorldSize;
    }

    /// <summary>Throws when any rank's weights differ from rank 0's (compares a float64 checksum bit for bit).</summary>
    public void CheckAgreement(long step)
    {
        if (_collective.WorldSize == 1) return;
        double local = 0;
        int i = 0;
        foreach (var p in _parameters)
        {
            using var d = p.Data.To(DType.Float64);
            using var a = d.Abs();
            using var s = a.Sum();
            local += ++i * s.Item();
        }
        using var mine = Tensor.FromArray([local]);
        using var root = mine.Clone();
        _collective.Broadcast(root, 0);
        double r0 = root.ToArray<double>()[0];
        using var differs = Tensor.FromArray([r0 == local ? 0.0 : 1.0]);
        _collective.AllReduceSum(differs);
        if (differs.ToArray<double>()[0] != 0)
            throw new InvalidOperationException($"data-parallel: weights differ between ranks at step {step} (rank {_collective.Rank}: checksum {local:R}, rank 0: {r0:R})");
    }
}
