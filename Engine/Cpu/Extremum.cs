using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LightNet.Cpu;

/// <summary>
/// Maximum or minimum of a span with IEEE semantics (NaN if any element is NaN, +0 above −0), at memory speed:
/// four independent native max/min chains plus a NaN flag (raised by a NaN in the sum of each group of four vectors),
/// instead of the per-element NaN and signed-zero blends of <see cref="TensorPrimitives.Max{T}(ReadOnlySpan{T})"/>; a raised
/// flag or a zero result hands the span to that exact routine. Max or min is a type parameter, so the loop has no branch.
/// </summary>
internal static unsafe class Extremum
{
    /// <summary>The largest element (NaN if any is NaN); the span must not be empty.</summary>
    public static T Max<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Reduce<T, MaxOf<T>>(x);

    /// <summary>The smallest element (NaN if any is NaN); the span must not be empty.</summary>
    public static T Min<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Reduce<T, MinOf<T>>(x);

    /// <summary>One of the two reductions: native vector form, exact scalar form, exact span routine.</summary>
    private interface IPick<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        static abstract Vector256<T> Native(Vector256<T> a, Vector256<T> b);
        static abstract Vector512<T> Native(Vector512<T> a, Vector512<T> b);
        static abstract T Exact(T a, T b);
        static abstract T Exact(ReadOnlySpan<T> x);
    }

    private struct MaxOf<T> : IPick<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Native(Vector256<T> a, Vector256<T> b) => Vector256.MaxNative(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Native(Vector512<T> a, Vector512<T> b) => Vector512.MaxNative(a, b);
        public static T Exact(T a, T b) => T.Max(a, b);
        public static T Exact(ReadOnlySpan<T> x) => TensorPrimitives.Max(x);
    }

    private struct MinOf<T> : IPick<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Native(Vector256<T> a, Vector256<T> b) => Vector256.MinNative(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Native(Vector512<T> a, Vector512<T> b) => Vector512.MinNative(a, b);
        public static T Exact(T a, T b) => T.Min(a, b);
        public static T Exact(ReadOnlySpan<T> x) => TensorPrimitives.Min(x);
    }

    private static T Reduce<T, TPick>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> where TPick : struct, IPick<T>
    {
        T r;
        bool nan;
        fixed (T* p = x)
        {
            if (Vector512.IsHardwareAccelerated && x.Length >= 4 * Vector512<T>.Count) r = Wide<T, TPick>(p, x.Length, out nan);
            else if (Vector256.IsHardwareAccelerated && x.Length >= 4 * Vector256<T>.Count) r = Narrow<T, TPick>(p, x.Length, out nan);
            else return TPick.Exact(x);
        }
        // A NaN (or +∞ and −∞) seen, or a zero result (native max/min keep whichever zero came last): the exact routine decides.
        return nan || T.IsZero(r) ? TPick.Exact(x) : r;
    }

    private static T Narrow<T, TPick>(T* p, int n, out bool nan) where T : unmanaged, IFloatingPointIeee754<T> where TPick : struct, IPick<T>
    {
        int w = Vector256<T>.Count, i = 4 * w;
        var a0 = Vector256.Load(p); var a1 = Vector256.Load(p + w);
        var a2 = Vector256.Load(p + 2 * w); var a3 = Vector256.Load(p + 3 * w);
        var flag = Vector256.IsNaN(a0 + a1 + a2 + a3);
        for (; i <= n - 4 * w; i += 4 * w)
        {
            var v0 = Vector256.Load(p + i); var v1 = Vector256.Load(p + i + w);
            var v2 = Vector256.Load(p + i + 2 * w); var v3 = Vector256.Load(p + i + 3 * w);
            flag |= Vector256.IsNaN(v0 + v1 + v2 + v3);
            a0 = TPick.Native(a0, v0); a1 = TPick.Native(a1, v1);
            a2 = TPick.Native(a2, v2); a3 = TPick.Native(a3, v3);
        }
        nan = flag != Vector256<T>.Zero;
        var a = TPick.Native(TPick.Native(a0, a1), TPick.Native(a2, a3));
        T r = a[0];
        for (int l = 1; l < w; l++) r = TPick.Exact(r, a[l]);
        for (; i < n; i++) r = TPick.Exact(r, p[i]);
        return r;
    }

    /// <summary>
    /// Spans at least this long are read by <see cref="Wide{T, TPick}"/> as four streams, their quarters: one core keeps more
    /// cache-line fetches in flight over four sequential streams than over four chains of consecutive vectors, so spans
    /// from memory reduce faster (docs/perf.md, "Long reductions read four streams").
    /// </summary>
    private const int StreamElements = 1 << 15;

    /// <summary>
    /// Four native chains over four consecutive vectors at a time, or over the span's quarters as four streams (spans of at
    /// least <see cref="StreamElements"/>): the same elements either way, the first 4·⌊n / 4w⌋·w, so the same result.
    /// </summary>
    private static T Wide<T, TPick>(T* p, int n, out bool nan) where T : unmanaged, IFloatingPointIeee754<T> where TPick : struct, IPick<T>
    {
        int w = Vector512<T>.Count, q = n / (4 * w) * w;
        bool streams = n >= StreamElements;
        int gap = streams ? q : w, step = streams ? w : 4 * w, end = streams ? q : 4 * q;
        var a0 = Vector512.Load(p); var a1 = Vector512.Load(p + gap);
        var a2 = Vector512.Load(p + 2 * gap); var a3 = Vector512.Load(p + 3 * gap);
        var flag = Vector512.IsNaN(a0 + a1 + a2 + a3);
        for (int i = step; i < end; i += step)
        {
            var v0 = Vector512.Load(p + i); var v1 = Vector512.Load(p + gap + i);
            var v2 = Vector512.Load(p + 2 * gap + i); var v3 = Vector512.Load(p + 3 * gap + i);
            flag |= Vector512.IsNaN(v0 + v1 + v2 + v3);
            a0 = TPick.Native(a0, v0); a1 = TPick.Native(a1, v1);
            a2 = TPick.Native(a2, v2); a3 = TPick.Native(a3, v3);
        }
        nan = flag != Vector512<T>.Zero;
        var a = TPick.Native(TPick.Native(a0, a1), TPick.Native(a2, a3));
        T r = a[0];
        for (int l = 1; l < w; l++) r = TPick.Exact(r, a[l]);
        for (int i = 4 * q; i < n; i++) r = TPick.Exact(r, p[i]);
        return r;
    }
}
