namespace LightNet;

/// <summary>Process-wide counters of live tensors and allocated bytes, for leak tests.</summary>
public static class MemoryStats
{
    private static long _liveTensors, _liveHostBytes, _liveDeviceBytes, _peakHostBytes;

    /// <summary>Tensors created and not yet disposed.</summary>
    public static long LiveTensors => Interlocked.Read(ref _liveTensors);
    /// <summary>Bytes of host storage currently allocated.</summary>
    public static long LiveHostBytes => Interlocked.Read(ref _liveHostBytes);
    /// <summary>Bytes of device storage currently handed out (excluding allocator caches).</summary>
    public static long LiveDeviceBytes => Interlocked.Read(ref _liveDeviceBytes);
    /// <summary>Highest <see cref="LiveHostBytes"/> since the last <see cref="ResetPeakHostBytes"/> (or the start of the process).</summary>
    public static long PeakHostBytes => Interlocked.Read(ref _peakHostBytes);

    /// <summary>Starts a new peak window at the current <see cref="LiveHostBytes"/>.</summary>
    public static void ResetPeakHostBytes() => Interlocked.Exchange(ref _peakHostBytes, LiveHostBytes);

    internal static void TensorCreated() => Interlocked.Increment(ref _liveTensors);
    internal static void TensorDisposed() => Interlocked.Decrement(ref _liveTensors);
    internal static void HostAllocated(long bytes)
    {
        long live = Interlocked.Add(ref _liveHostBytes, bytes);
        if (bytes <= 0) return;
        long peak = Interlocked.Read(ref _peakHostBytes);
        while (live > peak)
        {
            long seen = Interlocked.CompareExchange(ref _peakHostBytes, live, peak);
            if (seen == peak) break;
            peak = seen;
        }
    }
    /// <summary>Called by device backends when device memory is handed out (+) or returned (−).</summary>
    public static void DeviceAllocated(long bytes) => Interlocked.Add(ref _liveDeviceBytes, bytes);
}
