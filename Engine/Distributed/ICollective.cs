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

    /// <summary>
    /// Starts <see cref="AllReduceSum"/> on <paramref name="t"/> and returns without waiting for it; the sum is in
    /// <paramref name="t"/> once the returned handle's <see cref="ICollectiveWork.Wait"/> has returned, and until then
    /// <paramref name="t"/> must be neither read, written nor disposed. Started all-reduces complete in the order they
    /// were started (every rank must start them in the same order, like every other call), and any other operation
    /// called meanwhile runs after them. The default implementation runs the all-reduce at once.
    /// </summary>
    ICollectiveWork StartAllReduceSum(Tensor t)
    {
        AllReduceSum(t);
        return CollectiveWork.Completed;
    }

    /// <summary>In place: every rank's <paramref name="t"/> becomes rank <paramref name="root"/>'s values.</summary>
    void Broadcast(Tensor t, int root = 0);

    /// <summary>Returns when every rank has reached this call.</summary>
    void Barrier();
}

/// <summary>An operation started by <see cref="ICollective.StartAllReduceSum"/>.</summary>
public interface ICollectiveWork
{
    /// <summary>
    /// Returns once the result may be used by work queued after this call on the tensor's device: on the CPU it
    /// blocks until the data has arrived; on a GPU it may only make the device's work stream wait for it. Rethrows
    /// the operation's failure. Calling it again does nothing more.
    /// </summary>
    void Wait();
}

/// <summary>Handles of operations that needed no waiting.</summary>
public static class CollectiveWork
{
    /// <summary>An operation that has already completed.</summary>
    public static ICollectiveWork Completed { get; } = new Done();

    private sealed class Done : ICollectiveWork
    {
        public void Wait() { }
    }
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
