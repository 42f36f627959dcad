using System.Runtime.InteropServices;

namespace LightNet.Kernels.Cuda;

/// <summary>
/// A kernel's parameters laid out exactly as the kernel's parameter block (each value at its natural
/// alignment), built on the stack and handed to cuLaunchKernel through CU_LAUNCH_PARAM_BUFFER_POINTER:
/// no boxing and no allocation per launch.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ArgPack
{
    /// <summary>Largest parameter block supported.</summary>
    public const int Capacity = 1024;
    private fixed byte _data[Capacity];
    private int _length;

    /// <summary>Bytes used so far (the size passed to the driver).</summary>
    public readonly int Length => _length;

    /// <summary>Appends a value aligned to <paramref name="align"/> bytes (default: its size, at most 8).</summary>
    public void Add<T>(T value, int align = 0) where T : unmanaged
    {
        int a = align > 0 ? align : Math.Min(sizeof(T), 8);
        int at = (_length + a - 1) / a * a;
        if (at + sizeof(T) > Capacity) throw new InvalidOperationException($"kernel parameters exceed {Capacity} bytes");
        fixed (byte* p = _data) *(T*)(p + at) = value;
        _length = at + sizeof(T);
    }

    /// <summary>Appends a device pointer.</summary>
    public void Ptr(ulong p) => Add(p);
    /// <summary>Appends a 64-bit integer.</summary>
    public void I64(long v) => Add(v);
    /// <summary>Appends a 64-bit float.</summary>
    public void F64(double v) => Add(v);

    /// <summary>A parameter block holding <paramref name="args"/> in order.</summary>
    public static ArgPack From(ReadOnlySpan<KernelArg> args)
    {
        var p = new ArgPack();
        foreach (var a in args) a.AppendTo(ref p);
        return p;
    }

    /// <summary>Address of the first byte (the pack must not move while it is used).</summary>
    public byte* Data
    {
        get { fixed (byte* p = _data) return p; }
    }
}
