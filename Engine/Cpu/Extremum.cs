using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LightNet.Cpu;

/// <summary>
/// Maximum or minimum of a span with IEEE semantics (NaN if any element is NaN, +0 above −0), at memory speed:
/// four independent native max/min chains plus a NaN flag (raised by a NaN in the sum of each group of four vectors),
/// instead of the per-element NaN and signed-zero blends of <see cref="TensorPrimitives.Max{T}(ReadOnlySpan{T})"/>; a raised
/// flag or a zero result hands the span to that exact routine.
/// </summary>
internal static class Extremum
{
    /// <summary>The largest element (NaN if any is NaN); the span must not be empty.</summary>
    public static T Max<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Reduce(x, max: true);

    /// <summary>The smallest element (NaN if any is NaN); the span must not be empty.</summary>
    public static T Min<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Reduce(x, max: false);

    private static T Reduce<T>(ReadOnlySpan<T> x, bool max) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T r;
        if (Vector512.IsHardwareAccelerated && x.Length >= 4 * Vector512<T>.Count) r = Wide(x, max);
        else if (Vector256.IsHardwareAccelerated && x.Length >= 4 * Vector256<T>.Count) r = Narrow(x, max);
        else return max ? TensorPrimitives.Max(x) : TensorPrimitives.Min(x);
        // Native max/min keep whichever zero came last: let the exact routine settle the sign of a zero result.
        return T.IsZero(r) ? (max ? TensorPrimitives.Max(x) : TensorPrimitives.Min(x)) : r;
    }

    private static T Narrow<T>(ReadOnlySpan<T> x, bool max) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count, n = x.Length, i = 4 * w;
        ref T x0 = ref MemoryMarshal.GetReference(x);
        var a0 = Vector256.LoadUnsafe(ref x0); var a1 = Vector256.LoadUnsafe(ref x0, (nuint)w);
        var a2 = Vector256.LoadUnsafe(ref x0, (nuint)(2 * w)); var a3 = Vector256.LoadUnsafe(ref x0, (nuint)(3 * w));
        var nan = Vector256.IsNaN(a0) | Vector256.IsNaN(a1) | Vector256.IsNaN(a2) | Vector256.IsNaN(a3);
        for (; i <= n - 4 * w; i += 4 * w)
        {
            var v0 = Vector256.LoadUnsafe(ref x0, (nuint)i); var v1 = Vector256.LoadUnsafe(ref x0, (nuint)(i + w));
            var v2 = Vector256.LoadUnsafe(ref x0, (nuint)(i + 2 * w)); var v3 = Vector256.LoadUnsafe(ref x0, (nuint)(i + 3 * w));
            nan |= Vector256.IsNaN(v0 + v1 + v2 + v3); // NaN in, or +∞ and −∞ both in: then the exact routine decides
            a0 = max ? Vector256.MaxNative(a0, v0) : Vector256.MinNative(a0, v0);
            a1 = max ? Vector256.MaxNative(a1, v1) : Vector256.MinNative(a1, v1);
            a2 = max ? Vector256.MaxNative(a2, v2) : Vector256.MinNative(a2, v2);
            a3 = max ? Vector256.MaxNative(a3, v3) : Vector256.MinNative(a3, v3);
        }
        if (nan != Vector256<T>.Zero) return max ? TensorPrimitives.Max(x) : TensorPrimitives.Min(x);
        var a = max ? Vector256.MaxNative(Vector256.MaxNative(a0, a1), Vector256.MaxNative(a2, a3))
                    : Vector256.MinNative(Vector256.MinNative(a0, a1), Vector256.MinNative(a2, a3));
        T r = a[0];
        for (int l = 1; l < w; l++) r = max ? T.Max(r, a[l]) : T.Min(r, a[l]);
        for (; i < n; i++) r = max ? T.Max(r, x[i]) : T.Min(r, x[i]);
        return r;
    }

    private static T Wide<T>(ReadOnlySpan<T> x, bool max) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count, n = x.Length, i = 4 * w;
        ref T x0 = ref MemoryMarshal.GetReference(x);
        var a0 = Vector512.LoadUnsafe(ref x0); var a1 = Vector512.LoadUnsafe(ref x0, (nuint)w);
        var a2 = Vector512.LoadUnsafe(ref x0, (nuint)(2 * w)); var a3 = Vector512.LoadUnsafe(ref x0, (nuint)(3 * w));
        var nan = Vector512.IsNaN(a0) | Vector512.IsNaN(a1) | Vector512.IsNaN(a2) | Vector512.IsNaN(a3);
        for (; i <= n - 4 * w; i += 4 * w)
        {
            var v0 = Vector512.LoadUnsafe(ref x0, (nuint)i); var v1 = Vector512.LoadUnsafe(ref x0, (nuint)(i + w));
            var v2 = Vector512.LoadUnsafe(ref x0, (nuint)(i + 2 * w)); var v3 = Vector512.LoadUnsafe(ref x0, (nuint)(i + 3 * w));
            nan |= Vector512.IsNaN(v0 + v1 + v2 + v3); // NaN in, or +∞ and −∞ both in: then the exact routine decides
            a0 = max ? Vector512.MaxNative(a0, v0) : Vector512.MinNative(a0, v0);
            a1 = max ? Vector512.MaxNative(a1, v1) : Vector512.MinNative(a1, v1);
            a2 = max ? Vector512.MaxNative(a2, v2) : Vector512.MinNative(a2, v2);
            a3 = max ? Vector512.MaxNative(a3, v3) : Vector512.MinNative(a3, v3);
        }
        if (nan != Vector512<T>.Zero) return max ? TensorPrimitives.Max(x) : TensorPrimitives.Min(x);
        var a = max ? Vector512.MaxNative(Vector512.MaxNative(a0, a1), Vector512.MaxNative(a2, a3))
                    : Vector512.MinNative(Vector512.MinNative(a0, a1), Vector512.MinNative(a2, a3));
        T r = a[0];
        for (int l = 1; l < w; l++) r = max ? T.Max(r, a[l]) : T.Min(r, a[l]);
        for (; i < n; i++) r = max ? T.Max(r, x[i]) : T.Min(r, x[i]);
        return r;
    }
}
