using System.Numerics;

namespace LightNet.Cpu;

/// <summary>Strided copy with dtype conversion, fill and random fill on the CPU.</summary>
internal static unsafe class CopyKernels
{
    public static void Copy(Tensor src, Tensor dst)
    {
        switch (src.DType)
        {
            case DType.Float32: CopyFrom<float>(src, dst); break;
            case DType.Float64: CopyFrom<double>(src, dst); break;
            case DType.Int32: CopyFrom<int>(src, dst); break;
            case DType.Int64: CopyFrom<long>(src, dst); break;
            case DType.BFloat16: CopyFromBf16(src, dst); break;
            default: throw new NotSupportedException($"copy from {src.DType}");
        }
    }

    private static void CopyFrom<TS>(Tensor src, Tensor dst) where TS : unmanaged, INumberBase<TS>
    {
        switch (dst.DType)
        {
            case DType.Float32: Run<TS, float>(src, dst); break;
            case DType.Float64: Run<TS, double>(src, dst); break;
            case DType.Int32: Run<TS, int>(src, dst); break;
            case DType.Int64: Run<TS, long>(src, dst); break;
            case DType.BFloat16:
                if (typeof(TS) != typeof(float)) throw new NotSupportedException("bfloat16 conversion is from float32 only");
                RunToBf16(src, dst);
                break;
            default: throw new NotSupportedException($"copy to {dst.DType}");
        }
    }

    private static void Run<TS, TD>(Tensor src, Tensor dst) where TS : unmanaged, INumberBase<TS> where TD : unmanaged, INumberBase<TD>
    {
        var plan = new StridedRows(dst.ShapeArray, src.StrideArray, dst.StrideArray);
        nint ps = (nint)src.Ptr<TS>(), pd = (nint)dst.Ptr<TD>();
        long ss = plan.RowStrides[0], sd = plan.RowStrides[1];
        plan.ForPieces(1 << 16, (r, start, len) =>
        {
            TS* s = (TS*)ps + plan.Offset(0, r) + start * ss;
            TD* d = (TD*)pd + plan.Offset(1, r) + start * sd;
            if (typeof(TS) == typeof(TD) && ss == 1 && sd == 1)
                Buffer.MemoryCopy(s, d, (long)len * sizeof(TD), (long)len * sizeof(TD));
            else if (typeof(TS) == typeof(TD))
                for (int i = 0; i < len; i++) *(TS*)(d + i * sd) = s[i * ss];
            else
                for (int i = 0; i < len; i++) d[i * sd] = TD.CreateTruncating(s[i * ss]);
        });
    }

    private static void RunToBf16(Tensor src, Tensor dst)
    {
        var plan = new StridedRows(dst.ShapeArray, src.StrideArray, dst.StrideArray);
        nint ps = (nint)src.Ptr<float>(), pd = (nint)dst.Storage.Pointer + (nint)(dst.Offset * 2);
        long ss = plan.RowStrides[0], sd = plan.RowStrides[1];
        plan.ForPieces(1 << 16, (r, start, len) =>
        {
            float* s = (float*)ps + plan.Offset(0, r) + start * ss;
            ushort* d = (ushort*)pd + plan.Offset(1, r) + start * sd;
            for (int i = 0; i < len; i++) d[i * sd] = BFloat16Bits.FromFloat(s[i * ss]);
        });
    }

    private static void CopyFromBf16(Tensor src, Tensor dst)
    {
        if (dst.DType == DType.BFloat16)
        {
            using var f = Tensor.Empty(src.Shape, DType.Float32);
            CopyFromBf16(src, f);
            RunToBf16(f, dst);
            return;
        }
        using var tmp = dst.DType == DType.Float32 ? null : Tensor.Empty(dst.Shape, DType.Float32);
        var target = tmp ?? dst;
        var plan = new StridedRows(target.ShapeArray, src.StrideArray, target.StrideArray);
        nint ps = (nint)src.Storage.Pointer + (nint)(src.Offset * 2), pd = (nint)target.Ptr<float>();
        long ss = plan.RowStrides[0], sd = plan.RowStrides[1];
        plan.ForPieces(1 << 16, (r, start, len) =>
        {
            ushort* s = (ushort*)ps + plan.Offset(0, r) + start * ss;
            float* d = (float*)pd + plan.Offset(1, r) + start * sd;
            for (int i = 0; i < len; i++) d[i * sd] = BFloat16Bits.ToFloat(s[i * ss]);
        });
        if (tmp != null) Copy(tmp, dst);
    }

    public static void Fill(Tensor dst, double value)
    {
        long n = dst.Numel;
        switch (dst.DType)
        {
            case DType.Float32: new Span<float>(dst.Ptr<float>(), checked((int)n)).Fill((float)value); break;
            case DType.Float64: new Span<double>(dst.Ptr<double>(), checked((int)n)).Fill(value); break;
            case DType.Int32: new Span<int>(dst.Ptr<int>(), checked((int)n)).Fill((int)value); break;
            case DType.Int64: new Span<long>(dst.Ptr<long>(), checked((int)n)).Fill((long)value); break;
            case DType.BFloat16: new Span<ushort>((ushort*)dst.Ptr<short>(), checked((int)n)).Fill(BFloat16Bits.FromFloat((float)value)); break;
            default: throw new NotSupportedException($"fill {dst.DType}");
        }
    }

    public static void Random(Tensor dst, ulong seed, ulong offset, bool normal)
    {
        long n = dst.Numel;
        if (dst.DType == DType.Float32)
        {
            nint p = (nint)dst.Ptr<float>();
            Parallelism.ForChunks(n, 1 << 14, (s, len) =>
            {
                for (int i = 0; i < len; i++)
                    ((float*)p)[s + i] = (float)(normal ? Generator.Normal(seed, offset + (ulong)(s + i)) : Generator.Uniform(seed, offset + (ulong)(s + i)));
            });
        }
        else if (dst.DType == DType.Float64)
        {
            nint p = (nint)dst.Ptr<double>();
            Parallelism.ForChunks(n, 1 << 14, (s, len) =>
            {
                for (int i = 0; i < len; i++)
                    ((double*)p)[s + i] = normal ? Generator.Normal(seed, offset + (ulong)(s + i)) : Generator.Uniform(seed, offset + (ulong)(s + i));
            });
        }
        else throw new ShapeException($"random: dtype must be float32 or float64, got {dst.DType.Name()}");
    }
}

/// <summary>bfloat16 bit conversions (round to nearest even; NaN kept quiet).</summary>
public static class BFloat16Bits
{
    /// <summary>float32 → bfloat16 bits.</summary>
    public static ushort FromFloat(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7FFFFFFF) > 0x7F800000) return (ushort)((u >> 16) | 0x40);
        u += 0x7FFF + ((u >> 16) & 1);
        return (ushort)(u >> 16);
    }

    /// <summary>bfloat16 bits → float32.</summary>
    public static float ToFloat(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);
}
