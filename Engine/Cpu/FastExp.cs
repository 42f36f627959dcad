using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LightNet.Cpu;

/// <summary>
/// float32 e^x and the ops built on it (sigmoid, SiLU and its derivative) at memory speed: Cody–Waite reduction
/// x = n·ln2 + r (|r| ≤ ln2/2), a degree-6 minimax polynomial for e^r (Cephes' expf coefficients, ≤ 2 ulp), and 2^n
/// placed in the exponent bits; one pass per op in 256-bit registers (AVX2: the ops are memory-bound at that width). A vector with any input outside
/// [−86.5, 88] (where 2^n would leave the normal range), or NaN, is done lane by lane with <see cref="MathF.Exp"/>, so
/// overflow, underflow to subnormals and NaN follow the scalar definition exactly.
/// </summary>
internal static class FastExp
{
    private const float Lo = -86.5f, Hi = 88f;
    private const float Log2E = 1.44269504088896341f, C1 = 0.693359375f, C2 = -2.12194440e-4f;

    /// <summary>e^x for x already known to lie in [Lo, Hi] in every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Core(Vector256<float> x)
    {
        // t = x·log2e + 1.5·2²³ rounds n = round(x·log2e) into t's low mantissa bits in the same (fused) operation.
        var magic = Vector256.Create(12582912f);
        var t = Vector256.FusedMultiplyAdd(x, Vector256.Create(Log2E), magic);
        var n = t - magic;
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-C1), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-C2), r);
        var p = Vector256.Create(1.9875691500e-4f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.3981999507e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        var er = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        var scale = Vector256.ShiftLeft(t.As<float, int>() - magic.As<float, int>() + Vector256.Create(127), 23).As<int, float>();
        return er * scale;
    }

    /// <summary>Every lane within [Lo, Hi] (false for NaN and ±∞): one distance test from the middle of the range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool InRange(Vector256<float> x) =>
        Vector256.LessThanOrEqualAll(Vector256.Abs(x - Vector256.Create((Lo + Hi) / 2)), Vector256.Create((Hi - Lo) / 2));

    /// <summary>σ(x) in the form that cannot overflow: e^x / (1 + e^x) for negative x.</summary>
    private static float Sig(float x)
    {
        if (x >= 0) return 1f / (1f + MathF.Exp(-x));
        float e = MathF.Exp(x);
        return e / (1f + e);
    }

    /// <summary>One element-wise function of x (and an optional second input g) given e^(±x): vector body and scalar definition.</summary>
    private interface IOp
    {
        /// <summary>True when the exponent is −x.</summary>
        static abstract bool Negate { get; }
        static abstract Vector256<float> Vec(Vector256<float> x, Vector256<float> e, Vector256<float> g);
        static abstract float Scalar(float x, float g);
    }

    /// <summary>
    /// y = op(x[, g]) in one pass; <paramref name="streaming"/> writes y with non-temporal stores (no read-for-ownership:
    /// for outputs too large to stay cached; the caller fences before the result is used).
    /// </summary>
    private static unsafe void Map<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> y, bool streaming) where TOp : struct, IOp
    {
        int w = Vector256<float>.Count, n = x.Length, i = 0;
        bool hasG = !g.IsEmpty;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float x0 = ref MemoryMarshal.GetReference(x);
            ref float g0 = ref MemoryMarshal.GetReference(g);
            fixed (float* y0 = y)
            {
                bool nt = streaming && ((nint)y0 & 31) == 0;
                for (; i <= n - w; i += w)
                {
                    var v = Vector256.LoadUnsafe(ref x0, (nuint)i);
                    var arg = TOp.Negate ? -v : v;
                    if (InRange(arg))
                    {
                        var r = TOp.Vec(v, Core(arg), hasG ? Vector256.LoadUnsafe(ref g0, (nuint)i) : default);
                        if (nt) Vector256.StoreAlignedNonTemporal(r, y0 + i);
                        else Vector256.Store(r, y0 + i);
                    }
                    else
                        for (int l = i; l < i + w; l++) y[l] = TOp.Scalar(x[l], hasG ? g[l] : 0f);
                }
            }
        }
        for (; i < n; i++) y[i] = TOp.Scalar(x[i], hasG ? g[i] : 0f);
    }

    private struct ExpOp : IOp
    {
        public static bool Negate => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Vec(Vector256<float> x, Vector256<float> e, Vector256<float> g) => e;
        public static float Scalar(float x, float g) => MathF.Exp(x);
    }

    private struct SigmoidOp : IOp
    {
        public static bool Negate => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Vec(Vector256<float> x, Vector256<float> e, Vector256<float> g) => Vector256<float>.One / (Vector256<float>.One + e);
        public static float Scalar(float x, float g) => Sig(x);
    }

    private struct SiluOp : IOp
    {
        public static bool Negate => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Vec(Vector256<float> x, Vector256<float> e, Vector256<float> g) => x / (Vector256<float>.One + e);
        public static float Scalar(float x, float g) => x * Sig(x);
    }

    private struct SiluBackwardOp : IOp
    {
        public static bool Negate => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Vec(Vector256<float> x, Vector256<float> e, Vector256<float> g)
        {
            // 1 − σ(x) = e^−x·σ(x): no cancellation when σ(x) is close to 1.
            var s = Vector256<float>.One / (Vector256<float>.One + e);
            return g * s * (Vector256<float>.One + x * (e * s));
        }
        public static float Scalar(float x, float g) { float s = Sig(x), rest = x >= 0 ? MathF.Exp(-x) * s : 1f - s; return g * s * (1f + x * rest); }
    }

    /// <summary>y = e^(x − m) for every element, returning Σ y: softmax's numerators and denominator in one pass.</summary>
    public static float ExpShiftedSum(ReadOnlySpan<float> x, float m, Span<float> y)
    {
        int w = Vector256<float>.Count, n = x.Length, i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float x0 = ref MemoryMarshal.GetReference(x);
            ref float y0 = ref MemoryMarshal.GetReference(y);
            var mv = Vector256.Create(m);
            var acc = Vector256<float>.Zero;
            for (; i <= n - w; i += w)
            {
                var v = Vector256.LoadUnsafe(ref x0, (nuint)i) - mv;
                if (InRange(v))
                {
                    var e = Core(v);
                    acc += e;
                    e.StoreUnsafe(ref y0, (nuint)i);
                }
                else
                    for (int l = i; l < i + w; l++) { y[l] = MathF.Exp(x[l] - m); sum += y[l]; }
            }
            sum += Vector256.Sum(acc);
        }
        for (; i < n; i++) { y[i] = MathF.Exp(x[i] - m); sum += y[i]; }
        return sum;
    }

    /// <summary>y = e^x.</summary>
    public static void Exp(ReadOnlySpan<float> x, Span<float> y, bool streaming = false) => Map<ExpOp>(x, default, y, streaming);

    /// <summary>y = σ(x) = 1 / (1 + e^−x).</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y, bool streaming = false) => Map<SigmoidOp>(x, default, y, streaming);

    /// <summary>y = x·σ(x).</summary>
    public static void Silu(ReadOnlySpan<float> x, Span<float> y, bool streaming = false) => Map<SiluOp>(x, default, y, streaming);

    /// <summary>dx = g·σ(x)·(1 + x·(1 − σ(x))), the SiLU derivative times the output gradient g.</summary>
    public static void SiluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> dx, bool streaming = false) => Map<SiluBackwardOp>(x, g, dx, streaming);
}
