using System.Runtime.InteropServices;

namespace LightNet.Distributed;

/// <summary>
/// Reference collective over a <see cref="TcpGroup"/>: rank 0 gathers every rank's bytes, sums them in rank order
/// (so the result does not depend on timing) and sends the result back. Tensors may live on any device (they are
/// copied through the host). Meant for tests and CPU processes, not for speed.
/// </summary>
public sealed class TcpCollective(TcpGroup group) : ICollective
{
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
        group.Gather([]);
        group.Broadcast(Rank == 0 ? [] : null);
    }

    /// <inheritdoc/>
    public void Dispose() => group.Dispose();
}
