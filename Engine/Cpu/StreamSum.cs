using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace LightNet.Cpu;

/// <summary>
/// Sum of a float32 or float64 span read as four interleaved streams, its quarters, each with its own accumulator: one core
/// keeps more cache-line fetches in flight over four sequential streams than over one, so spans from memory reduce faster
/// than with TensorPrimitives.Sum. With 256-bit vectors four streams do not gain, so without AVX-512 it is
/// TensorPrimitives.Sum (docs/perf.md, "Long reductions read four streams").
/// The order of the additions depends on the length alone.
/// </summary>
internal static unsafe class StreamSum
{
    /// <summary>Shortest stream, in vectors, worth the split; shorter spans go to <see cref="TensorPrimitives.Sum{T}(ReadOnlySpan{T})"/>.</summary>
    private const int MinStreamVectors = 16;

    /// <summary>Σ x (0 for an empty span).</summary>
    public static T Sum<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.IsSupported ? Vector512<T>.Count : 0;
        int q = w == 0 ? 0 : x.Length / (4 * w) * w; // elements per stream, whole vectors
        if (w == 0 || !Vector512.IsHardwareAccelerated || (typeof(T) != typeof(float) && typeof(T) != typeof(double)) || q < MinStreamVectors * w)
            return TensorPrimitives.Sum(x);
        Vector512<T> a0 = Vector512<T>.Zero, a1 = a0, a2 = a0, a3 = a0;
        fixed (T* p = x)
        {
            T* p1 = p + q, p2 = p + 2 * q, p3 = p + 3 * q;
            for (int i = 0; i < q; i += w)
            {
                a0 += Vector512.Load(p + i);
                a1 += Vector512.Load(p1 + i);
                a2 += Vector512.Load(p2 + i);
                a3 += Vector512.Load(p3 + i);
            }
        }
        return Vector512.Sum((a0 + a1) + (a2 + a3)) + TensorPrimitives.Sum(x[(4 * q)..]);
    }
}
