namespace LightNet;

/// <summary>Element type of a tensor.</summary>
public enum DType
{
    /// <summary>IEEE binary32, the compute type.</summary>
    Float32,
    /// <summary>IEEE binary64, for references and gradient checks.</summary>
    Float64,
    /// <summary>32-bit signed integer (ids).</summary>
    Int32,
    /// <summary>64-bit signed integer (ids, labels).</summary>
    Int64,
    /// <summary>bfloat16 storage (GPU training mode).</summary>
    BFloat16,
}

/// <summary>Properties of <see cref="DType"/> values.</summary>
public static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this DType t) => t switch
    {
        DType.Float32 => 4,
        DType.Float64 => 8,
        DType.Int32 => 4,
        DType.Int64 => 8,
        DType.BFloat16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>True for float32, float64 and bfloat16.</summary>
    public static bool IsFloating(this DType t) => t is DType.Float32 or DType.Float64 or DType.BFloat16;

    /// <summary>The dtype kernels compute and accumulate in for tensors of this dtype: float32 for bfloat16 storage, else itself.</summary>
    public static DType Accumulation(this DType t) => t == DType.BFloat16 ? DType.Float32 : t;

    /// <summary>Lower-case name as used in files and messages.</summary>
    public static string Name(this DType t) => t switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Int32 => "int32",
        DType.Int64 => "int64",
        DType.BFloat16 => "bfloat16",
        _ => t.ToString(),
    };

    /// <summary>Parses a name such as "float32" or "f64".</summary>
    public static DType Parse(string name) => name.ToLowerInvariant() switch
    {
        "float32" or "f32" or "float" => DType.Float32,
        "float64" or "f64" or "double" => DType.Float64,
        "int32" or "i32" => DType.Int32,
        "int64" or "i64" or "long" => DType.Int64,
        "bfloat16" or "bf16" => DType.BFloat16,
        _ => throw new ArgumentException($"unknown dtype '{name}' (expected float32, float64, int32, int64 or bfloat16)", nameof(name)),
    };

    /// <summary>The dtype of a CLR element type.</summary>
    public static DType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? DType.Float32 :
        typeof(T) == typeof(double) ? DType.Float64 :
        typeof(T) == typeof(int) ? DType.Int32 :
        typeof(T) == typeof(long) ? DType.Int64 :
        throw new NotSupportedException($"no dtype for CLR type {typeof(T).Name}");
}
