using LightNet.Distributed;
using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

/// <summary>
/// Data-parallel collectives on GPUs through NCCL, queued on the device's own stream (so they order with the
/// kernels around them, without host synchronisation). Rank 0 makes the NCCL unique id and hands it to the other
/// ranks over the job's <see cref="TcpGroup"/>; each process drives one GPU. <see cref="StartAllReduceSum"/> queues
/// on a second stream instead, which first waits for the work stream's work so far (an event), so that the
/// all-reduce runs beside the kernels queued after it; waiting for its handle makes the work stream wait for it.
/// </summary>
public sealed class NcclCollective : ICollective
{
    private readonly CudaBackend _backend;
    private IntPtr _comm;
    private CudaStream? _side;          // the stream of started all-reduces (made on first use)
    private StartedWork? _lastStarted;  // the last started all-reduce the work stream may not yet wait for

    /// <summary>Creates the communicator of <paramref name="group"/>'s ranks on <paramref name="device"/> (a CUDA device of this process).</summary>
    public NcclCollective(TcpGroup group, Device device)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (device.Kind != DeviceKind.Cuda || Backends.For(device) is not CudaBackend b)
            throw new ArgumentException($"nccl: device {device} is not a registered CUDA device (call CudaBackend.TryRegister first)", nameof(device));
        if (!IsAvailable(out var report)) throw new DllNotFoundException("nccl: " + report);
        _backend = b;
        Rank = group.Rank;
        WorldSize = group.WorldSize;
        Nccl.UniqueId id = default;
        unsafe
        {
            if (Rank == 0) Nccl.Check(Nccl.GetUniqueId(out id), "ncclGetUniqueId");
            var bytes = new byte[128];
            if (Rank == 0) new ReadOnlySpan<byte>(id.Internal, 128).CopyTo(bytes);
            bytes = group.Broadcast(Rank == 0 ? bytes : null);
            if (bytes.Length != 128) throw new IOException($"nccl: received a unique id of {bytes.Length} bytes, expected 128");
            bytes.CopyTo(new Span<byte>(id.Internal, 128));
        }
        b.Context.MakeCurrent();
        Nccl.Check(Nccl.CommInitRank(out _comm, WorldSize, id, Rank), "ncclCommInitRank");
    }

    /// <summary>True when libnccl can be loaded; <paramref name="report"/> lists every place tried.</summary>
    public static bool IsAvailable(out string report)
    {
        NativeLibraries.EnsureResolver();
        return NativeLibraries.TryLoad(NativeLibraries.Nccl, out report) != IntPtr.Zero;
    }

    /// <summary>NCCL's version code (e.g. 22703 for 2.27.3).</summary>
    public static int Version()
    {
        Nccl.Check(Nccl.GetVersion(out int v), "ncclGetVersion");
        return v;
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int WorldSize { get; }

    private IntPtr Stream => _backend.Context.Stream.Handle;

    private ulong Addr(Tensor t, string op, string arg)
    {
        ObjectDisposedException.ThrowIf(_comm == IntPtr.Zero, this);
        if (t.Device != _backend.Device) throw new ArgumentException($"{op}: '{arg}' is on {t.Device}, the communicator on {_backend.Device}");
        if (!t.IsContiguous) throw new ArgumentException($"{op}: '{arg}' {t.Shape} must be contiguous");
        return (ulong)(long)t.Storage.Pointer + (ulong)(t.Offset * t.DType.Size());
    }

    /// <summary>
    /// Before a collective on the work stream: makes the work stream wait for the all-reduces started so far (they
    /// complete in order on the side stream), since one communicator's collectives must run in the order issued.
    /// </summary>
    private void AfterStarted()
    {
        _lastStarted?.Wait();
        _lastStarted = null;
    }

    private static Nccl.DataType Type(Tensor t, string op) => t.DType switch
    {
        DType.Float32 => Nccl.DataType.Float32,
        DType.Float64 => Nccl.DataType.Float64,
        DType.Int32 => Nccl.DataType.Int32,
        DType.Int64 => Nccl.DataType.Int64,
        DType.BFloat16 => Nccl.DataType.BFloat16,
        _ => throw new ArgumentException($"{op}: dtype {t.DType.Name()} is not supported by NCCL"),
    };

    /// <inheritdoc/>
    public void AllReduceSum(Tensor t)
    {
        var p = Addr(t, "all_reduce", "t");
        _backend.Context.MakeCurrent();
        AfterStarted();
        Nccl.Check(Nccl.AllReduce(p, p, (nuint)t.Numel, Type(t, "all_reduce"), Nccl.RedOp.Sum, _comm, Stream), "ncclAllReduce");
    }

    /// <inheritdoc/>
    public ICollectiveWork StartAllReduceSum(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        var p = Addr(t, "all_reduce", "t");
        var type = Type(t, "all_reduce");
        var dev = _backend.Context;
        dev.MakeCurrent();
        _side ??= new CudaStream(dev);
        // The side stream waits for everything queued on the work stream so far (the kernels that made t).
        Driver.Check(Driver.cuEventCreate(out var produced, Driver.EventDisableTiming), "cuEventCreate");
        try
        {
            Driver.Check(Driver.cuEventRecord(produced, Stream), "cuEventRecord");
            Driver.Check(Driver.cuStreamWaitEvent(_side.Handle, produced, 0), "cuStreamWaitEvent");
        }
        finally { Driver.Check(Driver.cuEventDestroy_v2(produced), "cuEventDestroy"); } // the queued wait stays valid
        Nccl.Check(Nccl.AllReduce(p, p, (nuint)t.Numel, type, Nccl.RedOp.Sum, _comm, _side.Handle), "ncclAllReduce");
        Driver.Check(Driver.cuEventCreate(out var reduced, Driver.EventDisableTiming), "cuEventCreate");
        var work = new StartedWork(this, reduced);
        Driver.Check(Driver.cuEventRecord(reduced, _side.Handle), "cuEventRecord");
        _lastStarted = work;
        return work;
    }

    /// <summary>A started all-reduce: waiting queues, on the work stream, a wait for its event (the host does not block).</summary>
    private sealed class StartedWork(NcclCollective owner, IntPtr reduced) : ICollectiveWork
    {
        private IntPtr _reduced = reduced;

        public void Wait()
        {
            if (_reduced == IntPtr.Zero) return;
            owner._backend.Context.MakeCurrent();
            Driver.Check(Driver.cuStreamWaitEvent(owner.Stream, _reduced, 0), "cuStreamWaitEvent");
            Driver.Check(Driver.cuEventDestroy_v2(_reduced), "cuEventDestroy");
            _reduced = IntPtr.Zero;
        }
    }

    /// <inheritdoc/>
    public void Broadcast(Tensor t, int root = 0)
    {
        if (root < 0 || root >= WorldSize) throw new ArgumentOutOfRangeException(nameof(root), $"broadcast: root {root} outside 0..{WorldSize - 1}");
        var p = Addr(t, "broadcast", "t");
        _backend.Context.MakeCurrent();
        AfterStarted();
        Nccl.Check(Nccl.Broadcast(p, p, (nuint)t.Numel, Type(t, "broadcast"), root, _comm, Stream), "ncclBroadcast");
    }

    /// <summary>recv [WorldSize · n] = every rank's send [n], in rank order.</summary>
    public void AllGather(Tensor send, Tensor recv)
    {
        if (recv.Numel != send.Numel * WorldSize || recv.DType != send.DType)
            throw new ArgumentException($"all_gather: 'recv' {recv.Shape} {recv.DType.Name()} must hold {WorldSize} × {send.Numel} elements of {send.DType.Name()}");
        var s = Addr(send, "all_gather", "send"); var r = Addr(recv, "all_gather", "recv");
        _backend.Context.MakeCurrent();
        AfterStarted();
        Nccl.Check(Nccl.AllGather(s, r, (nuint)send.Numel, Type(send, "all_gather"), _comm, Stream), "ncclAllGather");
    }

    /// <summary>recv [n] = this rank's slice of the element-wise sum over ranks of send [WorldSize · n].</summary>
    public void ReduceScatterSum(Tensor send, Tensor recv)
    {
        if (send.Numel != recv.Numel * WorldSize || recv.DType != send.DType)
            throw new ArgumentException($"reduce_scatter: 'send' {send.Shape} must hold {WorldSize} × {recv.Numel} elements of {recv.DType.Name()}");
        var s = Addr(send, "reduce_scatter", "send"); var r = Addr(recv, "reduce_scatter", "recv");
        _backend.Context.MakeCurrent();
        AfterStarted();
        Nccl.Check(Nccl.ReduceScatter(s, r, (nuint)recv.Numel, Type(send, "reduce_scatter"), Nccl.RedOp.Sum, _comm, Stream), "ncclReduceScatter");
    }

    /// <summary>Runs several collectives as one NCCL group (fused launch).</summary>
    public void Group(Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        Nccl.Check(Nccl.GroupStart(), "ncclGroupStart");
        try { body(); }
        finally { Nccl.Check(Nccl.GroupEnd(), "ncclGroupEnd"); }
    }

    /// <inheritdoc/>
    public void Barrier()
    {
        using var one = Tensor.Zeros([1], DType.Float32, _backend.Device);
        AllReduceSum(one);
        _backend.Synchronize();
    }

    /// <summary>Destroys the communicator (and the side stream of started all-reduces).</summary>
    public void Dispose()
    {
        var c = Interlocked.Exchange(ref _comm, IntPtr.Zero);
        if (c == IntPtr.Zero) return;
        _backend.Context.MakeCurrent();
        try { Nccl.Check(Nccl.CommDestroy(c), "ncclCommDestroy"); }
        finally { _side?.Dispose(); }
    }
}
