using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LightNet.Cpu;

/// <summary>
/// float32 e^x and the ops built on it (sigmoid, SiLU and its derivative) at memory speed: Cody–Waite reduction
/// x = n·ln2 + r (|r| ≤ ln2/2), a degree-6 minimax polynomial for e^r (Cephes' expf coefficients, ≤ 2 ulp), and 2^n
/// placed in the exponent bits; one pass per op in 256-bit registers (AVX2: the ops are memory-bound at that width).
/// Lanes below −104 give exactly +0 in the vector path; lanes in the subnormal band [−104, −86.5), above 88 (overflow) or
/// NaN are recomputed one by one with <see cref="MathF.Exp"/>, so those follow the scalar definition exactly. The tail of
/// a span runs as one padded vector: an element's value never depends on its neighbours or its position.
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

    /// <summary>Below this e^x rounds to +0 in float32 (under half the smallest subnormal).</summary>
    private const float Underflow = -104f;

    /// <summary>
    /// e^arg lane by lane: exact +0 below <see cref="Underflow"/>; <paramref name="scalar"/> marks the lanes the vector
    /// formula does not cover (NaN, overflow above Hi, the subnormal band [−104, Lo)), which the caller recomputes one by
    /// one, so every other lane gets the same value whatever its neighbours are.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpLanes(Vector256<float> arg, out Vector256<float> scalar)
    {
        if (InRange(arg)) { scalar = Vector256<float>.Zero; return Core(arg); }
        var low = Vector256.LessThan(arg, Vector256.Create(Underflow));
        var fine = Vector256.LessThanOrEqual(Vector256.Abs(arg - Vector256.Create((Lo + Hi) / 2)), Vector256.Create((Hi - Lo) / 2));
        scalar = ~(low | fine);
        var clamped = Vector256.Min(Vector256.Max(arg, Vector256.Create(Lo)), Vector256.Create(Hi)); // NaN lanes: patched
        return Vector256.ConditionalSelect(low, Vector256<float>.Zero, Core(clamped));
    }

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
                    var e = ExpLanes(TOp.Negate ? -v : v, out var scalar);
                    var r = TOp.Vec(v, e, hasG ? Vector256.LoadUnsafe(ref g0, (nuint)i) : default);
                    if (scalar == Vector256<float>.Zero)
                    {
                        if (nt) Vector256.StoreAlignedNonTemporal(r, y0 + i);
                        else Vector256.Store(r, y0 + i);
                        continue;
                    }
                    // Only the marked lanes take the scalar definition (read x and g before y: they may alias).
                    for (int l = 0; l < w; l++)
                        y[i + l] = scalar.GetElement(l) != 0 ? TOp.Scalar(x[i + l], hasG ? g[i + l] : 0f) : r.GetElement(l);
                }
            }
            if (i < n)
            {
                // The tail as one zero-padded vector: an element's value does not depend on where it sits.
                Span<float> tx = stackalloc float[w], tg = stackalloc float[w], ty = stackalloc float[w];
                x[i..].CopyTo(tx);
                if (hasG) g[i..].CopyTo(tg);
                Map<TOp>(tx, hasG ? tg : default, ty, false);
                ty[..(n - i)].CopyTo(y[i..]);
            }
            return;
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

    private struct SwiGluOp : IOp
    {
        public static bool Negate => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Vec(Vector256<float> x, Vector256<float> e, Vector256<float> g) => x / (Vector256<float>.One + e) * g;
        public static float Scalar(float x, float g) => x * Sig(x) * g;
    }

    /// <summary>y = SiLU(gate)·up.</summary>
    public static void SwiGlu(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y, bool streaming = false) => Map<SwiGluOp>(gate, up, y, streaming);

    /// <summary>dGate = dy·up·σ(a)·(1 + a·(1 − σ(a))), dUp = dy·a·σ(a) for a = gate, one pass; lanes outside the vector formula's range use the scalar one.</summary>
    public static void SwiGluBackward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, ReadOnlySpan<float> dy, Span<float> dGate, Span<float> dUp)
    {
        int w = Vector256<float>.Count, n = gate.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float a0 = ref MemoryMarshal.GetReference(gate);
            ref float b0 = ref MemoryMarshal.GetReference(up);
            ref float g0 = ref MemoryMarshal.GetReference(dy);
            ref float da0 = ref MemoryMarshal.GetReference(dGate);
            ref float db0 = ref MemoryMarshal.GetReference(dUp);
            for (; i <= n - w; i += w)
            {
                var a = Vector256.LoadUnsafe(ref a0, (nuint)i);
                var b = Vector256.LoadUnsafe(ref b0, (nuint)i);
                var g = Vector256.LoadUnsafe(ref g0, (nuint)i);
                var e = ExpLanes(-a, out var scalar);
                var s = Vector256<float>.One / (Vector256<float>.One + e);
                var ga = g * (a * s);
                var gb = g * b * s * (Vector256<float>.One + a * (e * s));
                if (scalar == Vector256<float>.Zero)
                {
                    ga.StoreUnsafe(ref db0, (nuint)i);
                    gb.StoreUnsafe(ref da0, (nuint)i);
                    continue;
                }
                for (int l = 0; l < w; l++)
                    if (scalar.GetElement(l) == 0) { dUp[i + l] = ga.GetElement(l); dGate[i + l] = gb.GetElement(l); }
                    else ScalarSwiGluBackward(gate[i + l], up[i + l], dy[i + l], out dGate[i + l], out dUp[i + l]);
            }
            if (i < n)
            {
                // The tail as one zero-padded vector, like Map.
                Span<float> ta = stackalloc float[w], tb = stackalloc float[w], tg = stackalloc float[w], tda = stackalloc float[w], tdb = stackalloc float[w];
                gate[i..].CopyTo(ta); up[i..].CopyTo(tb); dy[i..].CopyTo(tg);
                SwiGluBackward(ta, tb, tg, tda, tdb);
                tda[..(n - i)].CopyTo(dGate[i..]);
                tdb[..(n - i)].CopyTo(dUp[i..]);
            }
            return;
        }
        for (; i < n; i++) ScalarSwiGluBackward(gate[i], up[i], dy[i], out dGate[i], out dUp[i]);
    }

    private static void ScalarSwiGluBackward(float a, float b, float g, out float da, out float db)
    {
        float s = Sig(a), rest = a >= 0 ? MathF.Exp(-a) * s : 1f - s;
        db = g * (a * s);
        da = g * b * s * (1f + a * rest);
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
                var e = ExpLanes(v, out var scalar);
                if (scalar != Vector256<float>.Zero)
                    for (int l = 0; l < w; l++)
                        if (scalar.GetElement(l) != 0) e = e.WithElement(l, MathF.Exp(x[i + l] - m));
                acc += e;
                e.StoreUnsafe(ref y0, (nuint)i);
            }
            sum += Vector256.Sum(acc);
            if (i < n)
            {
                // The tail as one vector padded with −∞ (e^−∞ = 0 adds nothing).
                Span<float> tx = stackalloc float[w], ty = stackalloc float[w];
                tx.Fill(float.NegativeInfinity);
                x[i..].CopyTo(tx);
                sum += ExpShiftedSum(tx, m, ty);
                ty[..(n - i)].CopyTo(y[i..]);
            }
            return sum;
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
