using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

/// <summary>
/// Caching device allocator: freed blocks go to per-size free lists and are handed out again without a
/// cuMemAlloc/cuMemFree (which synchronise). Sizes are rounded (512 B below 1 MiB, 2 MiB above) so blocks
/// are reused across slightly different requests. <see cref="Trim"/> returns the cache to the driver; an
/// allocation that fails with out-of-memory trims and retries once.
/// </summary>
public sealed class DeviceAllocator
{
    private const long SmallLimit = 1L << 20;
    private const long SmallRound = 512;
    private const long LargeRound = 2L << 20;

    private readonly CudaDevice _device;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Stack<ulong>> _free = new();
    private long _inUse, _cached, _peak, _allocCalls;

    internal DeviceAllocator(CudaDevice device) { _device = device; }

    /// <summary>Bytes in blocks currently handed out (rounded block sizes).</summary>
    public long BytesInUse { get { lock (_lock) return _inUse; } }
    /// <summary>Bytes held in the free lists.</summary>
    public long BytesCached { get { lock (_lock) return _cached; } }
    /// <summary>Bytes obtained from the driver and not yet returned (in use + cached).</summary>
    public long BytesReserved { get { lock (_lock) return _inUse + _cached; } }
    /// <summary>Largest <see cref="BytesInUse"/> seen.</summary>
    public long PeakBytesInUse { get { lock (_lock) return _peak; } }
    /// <summary>Number of cuMemAlloc calls made (cache misses).</summary>
    public long DriverAllocations { get { lock (_lock) return _allocCalls; } }

    /// <summary>Block size used for a request.</summary>
    public static long RoundUp(long bytes)
    {
        long b = Math.Max(bytes, 1);
        long q = b <= SmallLimit ? SmallRound : LargeRound;
        return (b + q - 1) / q * q;
    }

    internal ulong Rent(long bytes, out long block)
    {
        block = RoundUp(bytes);
        lock (_lock)
        {
            if (_free.TryGetValue(block, out var st) && st.Count > 0)
            {
                _cached -= block;
                Take(block);
                return st.Pop();
            }
        }
        _device.MakeCurrent();
        int r = Driver.cuMemAlloc_v2(out var p, (nuint)block);
        if (r == Driver.ErrorOutOfMemory)
        {
            Trim();
            r = Driver.cuMemAlloc_v2(out p, (nuint)block);
        }
        if (r != 0)
        {
            Driver.cuMemGetInfo_v2(out var free, out var total);
            Driver.Check(r, $"cuMemAlloc({block} bytes on cuda:{_device.Ordinal}; {BytesInUse} in use by tensors, {free} of {total} free on the device)");
        }
        lock (_lock)
        {
            _allocCalls++;
            Take(block);
        }
        return p;
    }

    private void Take(long block)
    {
        _inUse += block;
        if (_inUse > _peak) _peak = _inUse;
    }

    internal void Return(ulong pointer, long block)
    {
        lock (_lock)
        {
            if (!_free.TryGetValue(block, out var st)) _free[block] = st = new Stack<ulong>();
            st.Push(pointer);
            _inUse -= block;
            _cached += block;
        }
    }

    /// <summary>Waits for queued work, then frees every cached block back to the driver.</summary>
    public void Trim()
    {
        _device.Synchronize();
        lock (_lock)
        {
            foreach (var (block, st) in _free)
            {
                while (st.Count > 0)
                {
                    Driver.Check(Driver.cuMemFree_v2(st.Pop()), "cuMemFree");
                    _cached -= block;
                }
            }
            _free.Clear();
        }
    }

    /// <summary>Allocator of device <paramref name="ordinal"/>.</summary>
    public static DeviceAllocator For(int ordinal) => CudaRuntime.Device(ordinal).Allocator;
}
