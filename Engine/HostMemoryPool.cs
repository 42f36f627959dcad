using System.Runtime.InteropServices;

namespace LightNet;

/// <summary>
/// Caching allocator for 64-byte-aligned host memory. Freshly mapped pages cost a page fault each
/// (slow, and slower under a hypervisor), so freed blocks are kept in size classes (four per power of two)
/// and handed out again. <see cref="Trim"/> returns the cache to the OS.
/// </summary>
public static unsafe class HostMemoryPool
{
    private const long SmallLimit = 4096;
    private static readonly Dictionary<long, Stack<IntPtr>> _free = [];
    private static readonly Lock _lock = new();
    private static long _cachedBytes;

    /// <summary>Upper bound on cached bytes (default 4 GiB); blocks beyond it are freed.</summary>
    public static long CacheLimit { get; set; } = 4L << 30;

    /// <summary>Bytes held in the cache, not in use.</summary>
    public static long CachedBytes { get { lock (_lock) return _cachedBytes; } }

    /// <summary>The size class a request of <paramref name="bytes"/> is served from.</summary>
    public static long SizeClass(long bytes)
    {
        if (bytes <= SmallLimit) return Math.Max(64, (bytes + 63) & ~63L);
        int log = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(bytes - 1));
        long step = 1L << (log - 2);
        return (bytes + step - 1) / step * step;
    }

    /// <summary>A block of at least <paramref name="bytes"/> bytes, 64-byte aligned, contents undefined.</summary>
    public static IntPtr Rent(long bytes, out long size)
    {
        size = SizeClass(bytes);
        lock (_lock)
        {
            if (_free.TryGetValue(size, out var st) && st.Count > 0)
            {
                _cachedBytes -= size;
                return st.Pop();
            }
        }
        var p = NativeMemory.AlignedAlloc((nuint)size, 64);
        if (p == null)
        {
            Trim();
            p = NativeMemory.AlignedAlloc((nuint)size, 64);
            if (p == null) throw new InsufficientMemoryException($"could not allocate {bytes} bytes of host memory");
        }
        return (IntPtr)p;
    }

    /// <summary>Returns a block obtained from <see cref="Rent"/>.</summary>
    public static void Return(IntPtr p, long size)
    {
        lock (_lock)
        {
            if (_cachedBytes + size <= CacheLimit)
            {
                if (!_free.TryGetValue(size, out var st)) _free[size] = st = new Stack<IntPtr>();
                st.Push(p);
                _cachedBytes += size;
                return;
            }
        }
        NativeMemory.AlignedFree((void*)p);
    }

    /// <summary>Frees every cached block.</summary>
    public static void Trim()
    {
        lock (_lock)
        {
            foreach (var st in _free.Values)
                while (st.Count > 0) NativeMemory.AlignedFree((void*)st.Pop());
            _free.Clear();
            _cachedBytes = 0;
        }
    }
}
