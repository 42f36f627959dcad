namespace LightNet.Kernels.Cuda;

/// <summary>Device memory from the caching allocator; returned to the cache when the last view is released.</summary>
public sealed class CudaStorage : Storage
{
    private readonly DeviceAllocator _allocator;
    private readonly ulong _ptr;
    private readonly long _block;
    private readonly Device _device;
    private int _freed;

    internal CudaStorage(CudaDevice device, long bytes)
    {
        _allocator = device.Allocator;
        _device = Device.Cuda(device.Ordinal);
        _ptr = _allocator.Rent(bytes, out _block);
        ByteLength = bytes;
        MemoryStats.DeviceAllocated(bytes);
    }

    /// <inheritdoc/>
    public override Device Device => _device;
    /// <inheritdoc/>
    public override long ByteLength { get; }
    /// <inheritdoc/>
    public override IntPtr Pointer => new(unchecked((long)_ptr));
    /// <summary>Device address of the first byte.</summary>
    public ulong Address => _ptr;

    /// <inheritdoc/>
    protected override void Free()
    {
        if (Interlocked.Exchange(ref _freed, 1) != 0) return;
        _allocator.Return(_ptr, _block);
        MemoryStats.DeviceAllocated(-ByteLength);
#pragma warning disable CA1816 // Released deterministically through the reference count: the finalizer is only a safety net.
        GC.SuppressFinalize(this);
#pragma warning restore CA1816
    }

    /// <summary>Safety net for storage whose tensors were never disposed.</summary>
    ~CudaStorage() => Free();
}
