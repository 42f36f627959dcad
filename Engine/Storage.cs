using System.Runtime.InteropServices;

namespace LightNet;

/// <summary>
/// Reference-counted block of memory on one device. Tensors (views) share a storage; the memory is
/// released when the last view is disposed (or, as a safety net, when the handle is finalised).
/// </summary>
public abstract class Storage
{
    private int _refs = 1;

    /// <summary>Device holding the memory.</summary>
    public abstract Device Device { get; }
    /// <summary>Size in bytes.</summary>
    public abstract long ByteLength { get; }
    /// <summary>Address of the first byte (host or device address).</summary>
    public abstract IntPtr Pointer { get; }

    /// <summary>True while exactly one view holds this storage (so that view may be written in place without anyone else seeing it).</summary>
    internal bool HasOneView => Volatile.Read(ref _refs) == 1;

    internal void AddRef()
    {
        if (Interlocked.Increment(ref _refs) <= 1) throw new ObjectDisposedException(nameof(Storage), "storage was already released");
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0) Free();
    }

    /// <summary>Returns the memory to its owner.</summary>
    protected abstract void Free();
}

/// <summary>64-byte-aligned native host memory (from <see cref="HostMemoryPool"/>) owned by a <see cref="SafeHandle"/>.</summary>
public sealed class AlignedMemoryHandle : SafeHandle
{
    private readonly long _blockSize;

    /// <summary>Bytes requested.</summary>
    public long ByteLength { get; }

    /// <summary>Takes <paramref name="bytes"/> bytes aligned to 64; contents are undefined.</summary>
    public AlignedMemoryHandle(long bytes) : base(IntPtr.Zero, true)
    {
        ByteLength = bytes;
        SetHandle(HostMemoryPool.Rent(bytes, out _blockSize));
        MemoryStats.HostAllocated(bytes);
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        HostMemoryPool.Return(handle, _blockSize);
        MemoryStats.HostAllocated(-ByteLength);
        return true;
    }
}

/// <summary>Host storage.</summary>
public sealed class CpuStorage : Storage
{
    private readonly AlignedMemoryHandle _mem;

    /// <summary>Allocates host memory (contents undefined).</summary>
    public CpuStorage(long bytes) { _mem = new AlignedMemoryHandle(bytes); }

    /// <inheritdoc/>
    public override Device Device => Device.Cpu;
    /// <inheritdoc/>
    public override long ByteLength => _mem.ByteLength;
    /// <inheritdoc/>
    public override IntPtr Pointer => _mem.DangerousGetHandle();
    /// <inheritdoc/>
    protected override void Free() => _mem.Dispose();
}
