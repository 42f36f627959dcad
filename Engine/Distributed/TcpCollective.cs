using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace LightNet.Distributed;

/// <summary>
/// Reference collective over a <see cref="TcpGroup"/>: rank 0 gathers every rank's bytes, sums them in rank order
/// (so the result does not depend on timing) and sends the result back. Tensors may live on any device (they are
/// copied through the host). Meant for tests and CPU processes, not for speed. <see cref="StartAllReduceSum"/> hands
/// the tensor to one background thread that runs the started all-reduces one after another in the order started;
/// every other operation first waits until the started ones are done, so the frames on the wire never interleave.
/// </summary>
public sealed class TcpCollective(TcpGroup group) : ICollective
{
    private readonly BlockingCollection<Work> _queue = new();
    private Thread? _worker;
    private Work? _last;
    private Exception? _failure;
    private bool _disposed;

    /// <inheritdoc/>
    public int Rank => group.Rank;

    /// <inheritdoc/>
    public int WorldSize => group.WorldSize;

    private static byte[] Bytes(Tensor t)
    {
        using var host = t.To(Device.Cpu);
        using var c = host.Contiguous();
        return c.DType switch
        {
            DType.Float32 => MemoryMarshal.AsBytes(c.ToArray<float>().AsSpan()).ToArray(),
            DType.Float64 => MemoryMarshal.AsBytes(c.ToArray<double>().AsSpan()).ToArray(),
            DType.Int64 => MemoryMarshal.AsBytes(c.ToArray<long>().AsSpan()).ToArray(),
            DType.Int32 => MemoryMarshal.AsBytes(c.ToArray<int>().AsSpan()).ToArray(),
            _ => throw new NotSupportedException($"tcp_collective: dtype {t.DType.Name()} is not supported"),
        };
    }

    private static void Store(Tensor t, byte[] data)
    {
        using var host = t.DType switch
        {
            DType.Float32 => Tensor.FromArray(MemoryMarshal.Cast<byte, float>(data).ToArray(), t.Shape),
            DType.Float64 => Tensor.FromArray(MemoryMarshal.Cast<byte, double>(data).ToArray(), t.Shape),
            DType.Int64 => Tensor.FromArray(MemoryMarshal.Cast<byte, long>(data).ToArray(), t.Shape),
            DType.Int32 => Tensor.FromArray(MemoryMarshal.Cast<byte, int>(data).ToArray(), t.Shape),
            _ => throw new NotSupportedException($"tcp_collective: dtype {t.DType.Name()} is not supported"),
        };
        t.CopyFrom(host);
    }

    /// <inheritdoc/>
    public void AllReduceSum(Tensor t)
    {
        Drain();
        Reduce(t);
    }

    /// <inheritdoc/>
    public ICollectiveWork StartAllReduceSum(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (_worker == null)
        {
            _worker = new Thread(Serve) { IsBackground = true, Name = $"tcp-collective rank {Rank}" };
            _worker.Start();
        }
        var w = new Work(t);
        _queue.Add(w);
        _last = w;
        return w;
    }

    /// <summary>
    /// Waits until every started all-reduce has completed, rethrowing a failure; after one, every later call fails too
    /// (the connection is out of step, so nothing more may be sent on it).
    /// </summary>
    private void Drain()
    {
        var last = _last;
        _last = null;
        last?.Wait();
        if (_failure != null) throw new IOException($"collective: an earlier started all-reduce failed ({_failure.Message}); the group cannot be used any more", _failure);
    }

    /// <summary>The worker: runs the started all-reduces in order; after a failure it fails the rest (the stream is then out of step).</summary>
    private void Serve()
    {
        foreach (var w in _queue.GetConsumingEnumerable())
        {
            try
            {
                if (_failure != null) throw new IOException($"all_reduce: an earlier started all-reduce failed ({_failure.Message})", _failure);
                Reduce(w.Tensor);
            }
#pragma warning disable CA1031 // the worker must not die: the failure is handed to the waiting caller
            catch (Exception e)
#pragma warning restore CA1031
            {
                _failure ??= e;
                w.Error = ExceptionDispatchInfo.Capture(e);
            }
            finally { w.Done.Set(); }
        }
    }

    private sealed class Work(Tensor t) : ICollectiveWork
    {
        public Tensor Tensor { get; } = t;
        public ManualResetEventSlim Done { get; } = new();
        public ExceptionDispatchInfo? Error { get; set; }

        public void Wait()
        {
            Done.Wait();
            Error?.Throw();
        }
    }

    private void Reduce(Tensor t)
    {
        var parts = group.Gather(Bytes(t));
        byte[]? sum = null;
        if (Rank == 0)
        {
            foreach (var p in parts)
                if (p.Length != parts[0].Length) throw new IOException($"all_reduce: ranks sent {parts[0].Length} and {p.Length} bytes for one tensor {t.Shape} (mismatched calls?)");
            sum = t.DType switch
            {
                DType.Float32 => SumBytes<float>(parts),
                DType.Float64 => SumBytes<double>(parts),
                DType.Int64 => SumBytes<long>(parts),
                DType.Int32 => SumBytes<int>(parts),
                _ => throw new NotSupportedException($"tcp_collective: dtype {t.DType.Name()} is not supported"),
            };
        }
        Store(t, group.Broadcast(sum));
    }

    private static byte[] SumBytes<T>(byte[][] parts) where T : unmanaged, System.Numerics.INumber<T>
    {
        var acc = MemoryMarshal.Cast<byte, T>(parts[0]).ToArray();
        for (int r = 1; r < parts.Length; r++)
        {
            var x = MemoryMarshal.Cast<byte, T>(parts[r]);
            for (int i = 0; i < acc.Length; i++) acc[i] += x[i];
        }
        return MemoryMarshal.AsBytes(acc.AsSpan()).ToArray();
    }

    /// <inheritdoc/>
    public void Broadcast(Tensor t, int root = 0)
    {
        if (root < 0 || root >= WorldSize) throw new ArgumentOutOfRangeException(nameof(root), $"broadcast: root {root} outside 0..{WorldSize - 1}");
        Drain();
        byte[] mine = Bytes(t);
        if (root == 0)
        {
            Store(t, group.Broadcast(Rank == 0 ? mine : null));
            return;
        }
        var parts = group.Gather(mine);
        Store(t, group.Broadcast(Rank == 0 ? parts[root] : null));
    }

    /// <inheritdoc/>
    public void Barrier()
    {
        Drain();
        group.Gather([]);
        group.Broadcast(Rank == 0 ? [] : null);
    }

    /// <summary>Closes the connections (which ends an all-reduce still running) and stops the worker.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _queue.CompleteAdding();
        group.Dispose();
        _worker?.Join();
        _queue.Dispose();
    }
}
