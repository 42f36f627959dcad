namespace LightNet.Distributed;

/// <summary>
/// Collective communication among the ranks of a data-parallel job (one process per device). Every rank calls
/// every operation in the same order with tensors of the same shape and dtype. Implementations: NCCL on GPUs
/// (<c>LightNet.Kernels.Cuda.NcclCollective</c>), <see cref="TcpCollective"/> (an in-repo reference over TCP, for
/// the CPU and tests) and <see cref="SingleProcess"/> (world size 1).
/// </summary>
public interface ICollective : IDisposable
{
    /// <summary>This process's rank, 0 … WorldSize − 1.</summary>
    int Rank { get; }

    /// <summary>Number of ranks.</summary>
    int WorldSize { get; }

    /// <summary>In place: every rank's <paramref name="t"/> becomes the element-wise sum over ranks (contiguous tensor).</summary>
    void AllReduceSum(Tensor t);

    /// <summary>In place: every rank's <paramref name="t"/> becomes rank <paramref name="root"/>'s values.</summary>
    void Broadcast(Tensor t, int root = 0);

    /// <summary>Returns when every rank has reached this call.</summary>
    void Barrier();
}

/// <summary>The trivial collective of a job with one rank (every operation is the identity).</summary>
public sealed class SingleProcess : ICollective
{
    /// <inheritdoc/>
    public int Rank => 0;
    /// <inheritdoc/>
    public int WorldSize => 1;
    /// <inheritdoc/>
    public void AllReduceSum(Tensor t) { }
    /// <inheritdoc/>
    public void Broadcast(Tensor t, int root = 0)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), $"broadcast: root {root} outside a world of 1 rank");
    }
    /// <inheritdoc/>
    public void Barrier() { }
    /// <inheritdoc/>
    public void Dispose() { }
}
