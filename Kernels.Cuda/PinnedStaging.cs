using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

/// <summary>
/// Page-locked host memory (<c>cuMemAllocHost</c>) through which a device's large uploads run: two <see cref="ChunkBytes"/>
/// buffers used in turn, so the DMA of one chunk overlaps the host-side memcpy of the next and runs at the pinned rate,
/// and the call returns while its last chunks are still in flight (the DMA reads these buffers, never the caller's memory,
/// which may be freed at once). Downloads stay direct: the driver's pageable path is faster for them than staging, whose
/// extra host memcpy is the bottleneck (docs/cuda.md, "Host copies"). Allocated on first use, freed on <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe class PinnedStaging(CudaDevice device) : IDisposable
{
    /// <summary>Bytes per staging buffer.</summary>
    public const long ChunkBytes = 8L << 20;
    /// <summary>Uploads smaller than this go direct (one driver call has less latency than the staging loop).</summary>
    public const long MinBytes = 1L << 20;

    private const uint EventDisableTiming = 2;
    private readonly IntPtr[] _buffer = new IntPtr[2];
    private readonly IntPtr[] _drained = new IntPtr[2];
    private readonly Lock _lock = new();

    private void Ensure()
    {
        if (_buffer[0] != IntPtr.Zero) return;
        device.MakeCurrent();
        for (int b = 0; b < 2; b++)
        {
            Driver.Check(Driver.cuMemAllocHost_v2(out _buffer[b], (nuint)ChunkBytes), "cuMemAllocHost");
            Driver.Check(Driver.cuEventCreate(out _drained[b], EventDisableTiming), "cuEventCreate");
        }
    }

    private static long Length(long bytes, long chunk) => Math.Min(ChunkBytes, bytes - chunk * ChunkBytes);

    /// <summary>Copies <paramref name="bytes"/> from host memory to device address <paramref name="dst"/> on the device's stream.</summary>
    public void ToDevice(ulong dst, byte* src, long bytes)
    {
        lock (_lock)
        {
            Ensure();
            var stream = device.Stream.Handle;
            for (long i = 0; i * ChunkBytes < bytes; i++)
            {
                int b = (int)(i & 1);
                long off = i * ChunkBytes, n = Length(bytes, i);
                Driver.Check(Driver.cuEventSynchronize(_drained[b]), "cuEventSynchronize"); // the buffer's previous DMA is done
                Buffer.MemoryCopy(src + off, (void*)_buffer[b], n, n);
                Driver.Check(Driver.cuMemcpyHtoDAsync_v2(dst + (ulong)off, (void*)_buffer[b], (nuint)n, stream), "cuMemcpyHtoDAsync");
                Driver.Check(Driver.cuEventRecord(_drained[b], stream), "cuEventRecord");
            }
        }
    }

    /// <summary>Waits for in-flight copies and frees the buffers and events.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_buffer[0] == IntPtr.Zero) return;
            device.MakeCurrent();
            for (int b = 0; b < 2; b++)
            {
                Driver.Check(Driver.cuEventSynchronize(_drained[b]), "cuEventSynchronize");
                Driver.Check(Driver.cuEventDestroy_v2(_drained[b]), "cuEventDestroy");
                Driver.Check(Driver.cuMemFreeHost(_buffer[b]), "cuMemFreeHost");
                _buffer[b] = _drained[b] = IntPtr.Zero;
            }
        }
    }
}
