using System.Runtime.CompilerServices;

namespace LightNet;

/// <summary>Turns the little-endian bytes of a safetensors tensor into engine elements, and converts dtypes.</summary>
internal static unsafe class SafetensorsDecode
{
    /// <summary>
    /// Decodes <paramref name="count"/> elements of <paramref name="type"/> at <paramref name="src"/> (any
    /// alignment) into <paramref name="dst"/>, laid out as <see cref="SafetensorsDTypeInfo.EngineDType"/>.
    /// </summary>
    public static void Decode(SafetensorsDType type, byte* src, byte* dst, long count)
    {
        switch (type)
        {
            case SafetensorsDType.F32 or SafetensorsDType.F64 or SafetensorsDType.BF16 or SafetensorsDType.I32 or SafetensorsDType.I64:
                Buffer.MemoryCopy(src, dst, count * type.Size(), count * type.Size());
                break;
            case SafetensorsDType.F16:
                for (long i = 0; i < count; i++) ((float*)dst)[i] = (float)Unsafe.ReadUnaligned<Half>(src + 2 * i);
                break;
            case SafetensorsDType.Bool:
                for (long i = 0; i < count; i++) ((int*)dst)[i] = src[i] != 0 ? 1 : 0;
                break;
            case SafetensorsDType.U8:
                for (long i = 0; i < count; i++) ((int*)dst)[i] = src[i];
                break;
            case SafetensorsDType.I8:
                for (long i = 0; i < count; i++) ((int*)dst)[i] = (sbyte)src[i];
                break;
            case SafetensorsDType.I16:
                for (long i = 0; i < count; i++) ((int*)dst)[i] = Unsafe.ReadUnaligned<short>(src + 2 * i);
                break;
            case SafetensorsDType.U16:
                for (long i = 0; i < count; i++) ((int*)dst)[i] = Unsafe.ReadUnaligned<ushort>(src + 2 * i);
                break;
            case SafetensorsDType.U32:
                for (long i = 0; i < count; i++) ((long*)dst)[i] = Unsafe.ReadUnaligned<uint>(src + 4 * i);
                break;
            default:
                throw new NotSupportedException($"safetensors: dtype {type.FileName()} cannot be decoded");
        }
    }

    /// <summary>A new tensor holding <paramref name="t"/> as <paramref name="target"/> (bfloat16 conversions go through float32).</summary>
    public static Tensor Convert(Tensor t, DType target)
    {
        if (target == t.DType || t.DType == DType.Float32 || target != DType.BFloat16) return t.To(target);
        using var f = t.To(DType.Float32);
        return f.To(target);
    }
}
