namespace LightNet.Kernels.Cuda;

/// <summary>
/// One scalar kernel parameter (device pointer, 64-bit integer or double), so a launch can be written as
/// a list of values that <see cref="ArgPack.From"/> lays out; stays on the stack with <c>params ReadOnlySpan</c>.
/// </summary>
internal readonly struct KernelArg
{
    private enum Kind : byte { Pointer, Int64, Float64 }

    private readonly ulong _bits;
    private readonly Kind _kind;

    private KernelArg(ulong bits, Kind kind) { _bits = bits; _kind = kind; }

    /// <summary>A device pointer.</summary>
    public static implicit operator KernelArg(ulong pointer) => new(pointer, Kind.Pointer);
    /// <summary>A 64-bit integer (<c>long long</c>).</summary>
    public static implicit operator KernelArg(long value) => new((ulong)value, Kind.Int64);
    /// <summary>A double.</summary>
    public static implicit operator KernelArg(double value) => new(BitConverter.DoubleToUInt64Bits(value), Kind.Float64);

    /// <summary>Appends the value to a parameter block.</summary>
    public void AppendTo(ref ArgPack pack)
    {
        switch (_kind)
        {
            case Kind.Pointer: pack.Ptr(_bits); break;
            case Kind.Int64: pack.I64((long)_bits); break;
            default: pack.F64(BitConverter.UInt64BitsToDouble(_bits)); break;
        }
    }
}
