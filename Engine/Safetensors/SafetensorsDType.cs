namespace LightNet;

/// <summary>Element types a safetensors file can declare (the format's own names, e.g. <c>F32</c>, <c>BF16</c>).</summary>
public enum SafetensorsDType
{
    /// <summary><c>BOOL</c>: one byte, 0 or 1.</summary>
    Bool,
    /// <summary><c>U8</c>.</summary>
    U8,
    /// <summary><c>I8</c>.</summary>
    I8,
    /// <summary><c>I16</c>.</summary>
    I16,
    /// <summary><c>U16</c>.</summary>
    U16,
    /// <summary><c>I32</c>.</summary>
    I32,
    /// <summary><c>U32</c>.</summary>
    U32,
    /// <summary><c>I64</c>.</summary>
    I64,
    /// <summary><c>U64</c> (not loadable: values may not fit int64).</summary>
    U64,
    /// <summary><c>F16</c>: IEEE binary16, loaded as float32.</summary>
    F16,
    /// <summary><c>BF16</c>: bfloat16.</summary>
    BF16,
    /// <summary><c>F32</c>.</summary>
    F32,
    /// <summary><c>F64</c>.</summary>
    F64,
    /// <summary><c>F8_E4M3</c> (not loadable).</summary>
    F8E4M3,
    /// <summary><c>F8_E5M2</c> (not loadable).</summary>
    F8E5M2,
}

/// <summary>Names, sizes and engine equivalents of <see cref="SafetensorsDType"/> values.</summary>
public static class SafetensorsDTypeInfo
{
    private static readonly (string Name, SafetensorsDType Type, int Size)[] Table =
    [
        ("BOOL", SafetensorsDType.Bool, 1), ("U8", SafetensorsDType.U8, 1), ("I8", SafetensorsDType.I8, 1),
        ("I16", SafetensorsDType.I16, 2), ("U16", SafetensorsDType.U16, 2), ("I32", SafetensorsDType.I32, 4),
        ("U32", SafetensorsDType.U32, 4), ("I64", SafetensorsDType.I64, 8), ("U64", SafetensorsDType.U64, 8),
        ("F16", SafetensorsDType.F16, 2), ("BF16", SafetensorsDType.BF16, 2), ("F32", SafetensorsDType.F32, 4),
        ("F64", SafetensorsDType.F64, 8), ("F8_E4M3", SafetensorsDType.F8E4M3, 1), ("F8_E5M2", SafetensorsDType.F8E5M2, 1),
    ];

    /// <summary>The name written in headers, e.g. <c>F32</c>.</summary>
    public static string FileName(this SafetensorsDType t) => Table[(int)t].Name;

    /// <summary>Bytes per element.</summary>
    public static int Size(this SafetensorsDType t) => Table[(int)t].Size;

    /// <summary>Parses a header dtype name (case-sensitive, as the format specifies); false when unknown.</summary>
    public static bool TryParse(string name, out SafetensorsDType type)
    {
        foreach (var (n, t, _) in Table)
            if (string.Equals(n, name, StringComparison.Ordinal)) { type = t; return true; }
        type = default;
        return false;
    }

    /// <summary>
    /// The engine dtype a tensor of this file dtype loads as by default: F32/F64/BF16/I32/I64 as themselves,
    /// F16 as float32, BOOL/U8/I8/I16/U16 widened to int32, U32 to int64; null when the engine cannot hold it.
    /// </summary>
    public static DType? EngineDType(this SafetensorsDType t) => t switch
    {
        SafetensorsDType.F32 or SafetensorsDType.F16 => DType.Float32,
        SafetensorsDType.F64 => DType.Float64,
        SafetensorsDType.BF16 => DType.BFloat16,
        SafetensorsDType.I64 or SafetensorsDType.U32 => DType.Int64,
        SafetensorsDType.I32 or SafetensorsDType.Bool or SafetensorsDType.U8 or SafetensorsDType.I8
            or SafetensorsDType.I16 or SafetensorsDType.U16 => DType.Int32,
        _ => null,
    };

    /// <summary>The file dtype that stores an engine dtype exactly.</summary>
    public static SafetensorsDType FromEngine(DType t) => t switch
    {
        DType.Float32 => SafetensorsDType.F32,
        DType.Float64 => SafetensorsDType.F64,
        DType.BFloat16 => SafetensorsDType.BF16,
        DType.Int32 => SafetensorsDType.I32,
        DType.Int64 => SafetensorsDType.I64,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "no safetensors dtype for this engine dtype"),
    };
}
