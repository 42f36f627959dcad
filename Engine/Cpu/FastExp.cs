using System.Runtime.CompilerServices;

namespace LightNet.Cpu;

/// <summary>
/// float32 e^x and the ops built on it (sigmoid, SiLU and its derivative, SwiGLU, softmax's shifted exp-and-sum) at memory
/// speed: x = (8k + j)·ln2/8 + r with |r| ≤ ln2/16 (Cody–Waite), 2^(j/8) from an 8-entry register table, a cubic for e^r and
/// 2^k added to the exponent bits; two vectors per iteration, 16 lanes each with AVX-512 and 8 with AVX2 + FMA (one generic body,
/// <see cref="IFloatVector{TV}"/>). Lanes below −104 give exactly +0 in the vector
/// path; lanes in the subnormal band [−104, −86.5), above 88 (overflow) or NaN are recomputed one by one with
/// <see cref="MathF.Exp"/> in an out-of-line routine (one range test per pair of vectors on the hot path), so those follow the
/// scalar definition exactly. The tail of a span runs as padded vectors: an element's value never depends on its
/// neighbours or its position.
/// </summary>
internal static unsafe class FastExp
{
    /// <summary>The widest vector the machine runs natively: 16 lanes with AVX-512, 8 with AVX2 + FMA; otherwise every element takes the scalar definition.</summary>
    private static readonly int Width = F16.Supported ? 16 : F8.Supported ? 8 : 1;

    private const float Lo = -86.5f, Hi = 88f;

    /// <summary>8·log2(e), and ln2/8 split Cody–Waite style (the high part has 9 significant bits, so n·<see cref="Ln2Hi8"/> is exact).</summary>
    private const float Log2E8 = 11.5415603271f, Ln2Hi8 = 0.086669921875f, Ln2Lo8 = -2.6524305e-5f;

    /// <summary>
    /// e^x for x already known to lie in [Lo, Hi] in every lane. With n = round(8x·log2e) = 8k + j (j ∈ 0..7) and
    /// r = x − n·ln2/8 (|r| ≤ ln2/16): e^x = 2^k · 2^(j/8) · e^r. 2^(j/8) comes from an 8-entry table in one register
    /// (a permute reads the low bits of the index), e^r ≈ 1 + r + c2·r² + c3·r³ (minimax relative error 2.6e-8 on
    /// |r| ≤ ln2/16), and 2^k is added to the exponent bits: 7 multiply/FMA operations per vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Core<TV>(TV x) where TV : struct, IFloatVector<TV>
    {
        // t = 8x·log2e + 1.5·2²³ rounds n into t's low mantissa bits in the same (fused) operation.
        var magic = TV.Splat(12582912f);
        var t = TV.Fma(x, TV.Splat(Log2E8), magic);
        var n = t - magic;
        var r = TV.Fma(n, TV.Splat(-Ln2Hi8), x);
        r = TV.Fma(n, TV.Splat(-Ln2Lo8), r);
        var table = TV.Table8(1f, 1.09050773f, 1.18920712f, 1.29683955f, 1.41421356f, 1.54221083f, 1.68179283f, 1.83400809f);
        var tj = TV.Lookup8(table, t);
        var q = TV.Fma(TV.Splat(1.666685939e-1f), r, TV.Splat(5.000644922e-1f));
        q = TV.Fma(q, r, TV.Splat(1f));
        var p = TV.Fma(tj * r, q, tj);
        // (t's bits << 20) = n << 20 (the magic constant's low 12 bits are 0); masking off j leaves k in the exponent field.
        return TV.AddShiftedBits(p, t, 20, unchecked((int)0xFF800000));
    }

    /// <summary>All lanes of both vectors within [Lo, Hi] (false for NaN and ±∞): one distance test per vector, one branch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool InRange<TV>(TV a, TV b) where TV : struct, IFloatVector<TV>
    {
        var mid = TV.Splat((Lo + Hi) / 2);
        var half = TV.Splat((Hi - Lo) / 2);
        return TV.All(TV.LessThanOrEqual(TV.Abs(a - mid), half) & TV.LessThanOrEqual(TV.Abs(b - mid), half));
    }

    /// <summary>Below this e^x rounds to +0 in float32 (under half the smallest subnormal).</summary>
    private const float Underflow = -104f;

    /// <summary>
    /// e^arg lane by lane for any input: exact +0 below <see cref="Underflow"/>; <paramref name="scalar"/> marks the lanes the
    /// vector formula does not cover (NaN, overflow above Hi, the subnormal band [−104, Lo)), which the caller recomputes one
    /// by one; lanes in [Lo, Hi] get exactly <see cref="Core{TV}"/>'s value, as on the hot path.
    /// </summary>
    private static TV ExpLanes<TV>(TV arg, out TV scalar) where TV : struct, IFloatVector<TV>
    {
        var low = TV.LessThan(arg, TV.Splat(Underflow));
        var fine = TV.LessThanOrEqual(TV.Abs(arg - TV.Splat((Lo + Hi) / 2)), TV.Splat((Hi - Lo) / 2));
        scalar = ~(low | fine);
        var clamped = TV.Min(TV.Max(arg, TV.Splat(Lo)), TV.Splat(Hi)); // NaN lanes: patched
        return TV.Select(low, TV.Splat(0f), Core(clamped));
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
        /// <summary>True when the op reads the second input g.</summary>
        static abstract bool Binary { get; }
        static abstract TV Vec<TV>(TV x, TV e, TV g) where TV : struct, IFloatVector<TV>;
        static abstract float Scalar(float x, float g);
    }

    /// <summary>How a result vector is written (a type parameter, so the loop has no branch on it).</summary>
    private interface IStore
    {
        static abstract void Store<TV>(TV v, float* p) where TV : struct, IFloatVector<TV>;
    }

    /// <summary>Ordinary stores.</summary>
    private struct Cached : IStore
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store<TV>(TV v, float* p) where TV : struct, IFloatVector<TV> => TV.Store(v, p);
    }

    /// <summary>Non-temporal stores (destination aligned to the vector): no read-for-ownership of lines nothing will read soon.</summary>
    private struct Streamed : IStore
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store<TV>(TV v, float* p) where TV : struct, IFloatVector<TV> => TV.StoreStreaming(v, p);
    }

    /// <summary>
    /// y = op(x[, g]) in one pass; <paramref name="streaming"/> writes y with non-temporal stores (no read-for-ownership:
    /// for outputs too large to stay cached; the caller fences before the result is used). y may be x.
    /// </summary>
    private static void Map<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> y, bool streaming) where TOp : struct, IOp
    {
        fixed (float* px = x, pg = g, py = y)
        {
            if (Width == 16) Map<TOp, F16>(px, pg, py, x.Length, streaming);
            else if (Width == 8) Map<TOp, F8>(px, pg, py, x.Length, streaming);
            else
                for (int i = 0; i < x.Length; i++) py[i] = TOp.Scalar(px[i], TOp.Binary ? pg[i] : 0f);
        }
    }

    private static void Map<TOp, TV>(float* px, float* pg, float* py, int n, bool streaming) where TOp : struct, IOp where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count;
        int full = n / (2 * w) * (2 * w);
        if (streaming && ((nint)py & (4 * w - 1)) == 0) Body<TOp, TV, Streamed>(px, pg, py, full);
        else Body<TOp, TV, Cached>(px, pg, py, full);
        if (full == n) return;
        // The rest (under two vectors) zero-padded: an element's value does not depend on where it sits.
        float* tx = stackalloc float[2 * w], tg = stackalloc float[2 * w], ty = stackalloc float[2 * w];
        new Span<float>(tx, 2 * w).Clear();
        new Span<float>(tg, 2 * w).Clear();
        new ReadOnlySpan<float>(px + full, n - full).CopyTo(new Span<float>(tx, 2 * w));
        if (TOp.Binary) new ReadOnlySpan<float>(pg + full, n - full).CopyTo(new Span<float>(tg, 2 * w));
        Body<TOp, TV, Cached>(tx, tg, ty, 2 * w);
        new ReadOnlySpan<float>(ty, n - full).CopyTo(new Span<float>(py + full, n - full));
    }

    /// <summary>The vector loop over n elements (a multiple of two vectors); a pair with a lane out of range goes to <see cref="Patch{TOp, TV}"/>.</summary>
    private static void Body<TOp, TV, TStore>(float* x, float* g, float* y, int n) where TOp : struct, IOp where TV : struct, IFloatVector<TV> where TStore : struct, IStore
    {
        int w = TV.Count;
        for (int i = 0; i < n; i += 2 * w)
        {
            var v0 = TV.Load(x + i);
            var v1 = TV.Load(x + i + w);
            var a0 = TOp.Negate ? -v0 : v0;
            var a1 = TOp.Negate ? -v1 : v1;
            if (!InRange(a0, a1))
            {
                Patch<TOp, TV>(x + i, g + i, y + i);
                Patch<TOp, TV>(x + i + w, g + i + w, y + i + w);
                continue;
            }
            var r0 = TOp.Vec(v0, Core(a0), TOp.Binary ? TV.Load(g + i) : default);
            var r1 = TOp.Vec(v1, Core(a1), TOp.Binary ? TV.Load(g + i + w) : default);
            TStore.Store(r0, y + i);
            TStore.Store(r1, y + i + w);
        }
    }

    /// <summary>One vector with a lane outside [Lo, Hi], off the hot path: the lanes <see cref="ExpLanes{TV}"/> marks take the scalar definition.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Patch<TOp, TV>(float* x, float* g, float* y) where TOp : struct, IOp where TV : struct, IFloatVector<TV>
    {
        var v = TV.Load(x);
        var e = ExpLanes(TOp.Negate ? -v : v, out var scalar);
        var r = TOp.Vec(v, e, TOp.Binary ? TV.Load(g) : default);
        if (TV.IsZero(scalar)) { TV.Store(r, y); return; }
        // Lane by lane, reading x and g before writing y (they may alias).
        for (int l = 0; l < TV.Count; l++)
            y[l] = TV.Get(scalar, l) != 0 ? TOp.Scalar(x[l], TOp.Binary ? g[l] : 0f) : TV.Get(r, l);
    }

    private struct ExpOp : IOp
    {
        public static bool Negate => false;
        public static bool Binary => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Vec<TV>(TV x, TV e, TV g) where TV : struct, IFloatVector<TV> => e;
        public static float Scalar(float x, float g) => MathF.Exp(x);
    }

    private struct SigmoidOp : IOp
    {
        public static bool Negate => true;
        public static bool Binary => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Vec<TV>(TV x, TV e, TV g) where TV : struct, IFloatVector<TV> => TV.Splat(1f) / (TV.Splat(1f) + e);
        public static float Scalar(float x, float g) => Sig(x);
    }

    private struct SiluOp : IOp
    {
        public static bool Negate => true;
        public static bool Binary => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Vec<TV>(TV x, TV e, TV g) where TV : struct, IFloatVector<TV> => x / (TV.Splat(1f) + e);
        public static float Scalar(float x, float g) => x * Sig(x);
    }

    private struct SiluBackwardOp : IOp
    {
        public static bool Negate => true;
        public static bool Binary => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Vec<TV>(TV x, TV e, TV g) where TV : struct, IFloatVector<TV>
        {
            // 1 − σ(x) = e^−x·σ(x): no cancellation when σ(x) is close to 1.
            var one = TV.Splat(1f);
            var s = one / (one + e);
            return g * s * (one + x * (e * s));
        }
        public static float Scalar(float x, float g) { float s = Sig(x), rest = x >= 0 ? MathF.Exp(-x) * s : 1f - s; return g * s * (1f + x * rest); }
    }

    private struct SwiGluOp : IOp
    {
        public static bool Negate => true;
        public static bool Binary => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Vec<TV>(TV x, TV e, TV g) where TV : struct, IFloatVector<TV> => x / (TV.Splat(1f) + e) * g;
        public static float Scalar(float x, float g) => x * Sig(x) * g;
    }

    /// <summary>y = SiLU(gate)·up.</summary>
    public static void SwiGlu(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y, bool streaming = false) => Map<SwiGluOp>(gate, up, y, streaming);

    /// <summary>dGate = dy·up·σ(a)·(1 + a·(1 − σ(a))), dUp = dy·a·σ(a) for a = gate, one pass; lanes outside the vector formula's range use the scalar one.</summary>
    public static void SwiGluBackward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, ReadOnlySpan<float> dy, Span<float> dGate, Span<float> dUp)
    {
        int n = gate.Length;
        fixed (float* pa = gate, pb = up, pg = dy, pda = dGate, pdb = dUp)
        {
            if (Width == 16) SwiGluBackward<F16>(pa, pb, pg, pda, pdb, n);
            else if (Width == 8) SwiGluBackward<F8>(pa, pb, pg, pda, pdb, n);
            else
                for (int i = 0; i < n; i++) ScalarSwiGluBackward(pa[i], pb[i], pg[i], out pda[i], out pdb[i]);
        }
    }

    private static void SwiGluBackward<TV>(float* pa, float* pb, float* pg, float* pda, float* pdb, int n) where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count;
        int full = n / w * w;
        for (int i = 0; i < full; i += w)
        {
            var a = TV.Load(pa + i);
            if (!InRange(-a, -a)) { SwiGluBackwardPatch<TV>(pa + i, pb + i, pg + i, pda + i, pdb + i); continue; }
            SwiGluBackwardVec(a, Core(-a), TV.Load(pb + i), TV.Load(pg + i), out var ga, out var gb);
            TV.Store(ga, pdb + i);
            TV.Store(gb, pda + i);
        }
        if (full == n) return;
        // The tail as one zero-padded vector, like Map.
        float* t = stackalloc float[5 * w];
        new Span<float>(t, 5 * w).Clear();
        new ReadOnlySpan<float>(pa + full, n - full).CopyTo(new Span<float>(t, w));
        new ReadOnlySpan<float>(pb + full, n - full).CopyTo(new Span<float>(t + w, w));
        new ReadOnlySpan<float>(pg + full, n - full).CopyTo(new Span<float>(t + 2 * w, w));
        SwiGluBackwardPatch<TV>(t, t + w, t + 2 * w, t + 3 * w, t + 4 * w);
        new ReadOnlySpan<float>(t + 3 * w, n - full).CopyTo(new Span<float>(pda + full, n - full));
        new ReadOnlySpan<float>(t + 4 * w, n - full).CopyTo(new Span<float>(pdb + full, n - full));
    }

    /// <summary>The vector formula of <see cref="SwiGluBackward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float})"/> given e = e^−a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SwiGluBackwardVec<TV>(TV a, TV e, TV b, TV g, out TV ga, out TV gb) where TV : struct, IFloatVector<TV>
    {
        var one = TV.Splat(1f);
        var s = one / (one + e);
        ga = g * (a * s);
        gb = g * b * s * (one + a * (e * s));
    }

    /// <summary>One vector of the SwiGLU backward off the hot path: the lanes <see cref="ExpLanes{TV}"/> marks take the scalar definition.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SwiGluBackwardPatch<TV>(float* pa, float* pb, float* pg, float* pda, float* pdb) where TV : struct, IFloatVector<TV>
    {
        var a = TV.Load(pa);
        var e = ExpLanes(-a, out var scalar);
        SwiGluBackwardVec(a, e, TV.Load(pb), TV.Load(pg), out var ga, out var gb);
        for (int l = 0; l < TV.Count; l++)
            if (TV.Get(scalar, l) == 0) { pdb[l] = TV.Get(ga, l); pda[l] = TV.Get(gb, l); }
            else ScalarSwiGluBackward(pa[l], pb[l], pg[l], out pda[l], out pdb[l]);
    }

    private static void ScalarSwiGluBackward(float a, float b, float g, out float da, out float db)
    {
        float s = Sig(a), rest = a >= 0 ? MathF.Exp(-a) * s : 1f - s;
        db = g * (a * s);
        da = g * b * s * (1f + a * rest);
    }

    /// <summary>
    /// Largest exponent <see cref="TryExpShiftedSum"/> accepts. float32 rounds x − m before the exponential, a relative error
    /// of up to |x − m|·2⁻²⁴; shifting by the maximum bounds it by the element's distance below the maximum, and a shift up to
    /// ShiftHi below the maximum adds at most ShiftHi·2⁻²⁴ (4.8e-7) for the elements above the shift. Sums stay finite.
    /// </summary>
    public const float ShiftHi = 8f;

    /// <summary>
    /// y = e^(x − m) for every element and <paramref name="sum"/> = Σ y (softmax's numerators and denominator in one pass),
    /// for a shift m that need not be the maximum: false as soon as some x − m is above <see cref="ShiftHi"/> or NaN (y is
    /// then partly written; shift by the maximum instead). With m the maximum of a row without NaN, it succeeds.
    /// </summary>
    public static bool TryExpShiftedSum(ReadOnlySpan<float> x, float m, Span<float> y, out float sum)
    {
        int n = x.Length;
        fixed (float* px = x, py = y)
        {
            if (Width == 16) return TryExpShiftedSum<F16>(px, m, py, n, out sum);
            if (Width == 8) return TryExpShiftedSum<F8>(px, m, py, n, out sum);
            sum = 0;
            for (int i = 0; i < n; i++)
            {
                float v = px[i] - m;
                if (!(v <= ShiftHi)) return false;
                py[i] = MathF.Exp(v);
                sum += py[i];
            }
            return true;
        }
    }

    private static bool TryExpShiftedSum<TV>(float* px, float m, float* py, int n, out float sum) where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count;
        var mv = TV.Splat(m);
        var acc0 = TV.Splat(0f);
        var acc1 = TV.Splat(0f);
        sum = 0;
        int full = n / (2 * w) * (2 * w);
        for (int i = 0; i < full; i += 2 * w)
        {
            var v0 = TV.Load(px + i) - mv;
            var v1 = TV.Load(px + i + w) - mv;
            TV e0, e1;
            if (InShiftRange(v0, v1)) { e0 = Core(v0); e1 = Core(v1); }
            else if (!AtMostShiftHi(v0, v1)) return false;
            else { e0 = ShiftedExpPatch(v0, px + i, m); e1 = ShiftedExpPatch(v1, px + i + w, m); }
            acc0 += e0;
            acc1 += e1;
            TV.Store(e0, py + i);
            TV.Store(e1, py + i + w);
        }
        if (full < n)
        {
            // The rest as two vectors padded with −∞ (e^−∞ = 0 adds nothing).
            float* tx = stackalloc float[2 * w];
            new Span<float>(tx, 2 * w).Fill(float.NegativeInfinity);
            new ReadOnlySpan<float>(px + full, n - full).CopyTo(new Span<float>(tx, 2 * w));
            var v0 = TV.Load(tx) - mv;
            var v1 = TV.Load(tx + w) - mv;
            if (!AtMostShiftHi(v0, v1)) return false;
            var e0 = ShiftedExpPatch(v0, tx, m);
            var e1 = ShiftedExpPatch(v1, tx + w, m);
            acc0 += e0;
            acc1 += e1;
            float* ty = stackalloc float[2 * w];
            TV.Store(e0, ty);
            TV.Store(e1, ty + w);
            new ReadOnlySpan<float>(ty, n - full).CopyTo(new Span<float>(py + full, n - full));
        }
        sum = TV.Sum(acc0 + acc1);
        return true;
    }

    /// <summary>All lanes of both vectors within [Lo, <see cref="ShiftHi"/>] (false for NaN): the hot path of <see cref="TryExpShiftedSum"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool InShiftRange<TV>(TV a, TV b) where TV : struct, IFloatVector<TV>
    {
        var mid = TV.Splat((Lo + ShiftHi) / 2);
        var half = TV.Splat((ShiftHi - Lo) / 2);
        return TV.All(TV.LessThanOrEqual(TV.Abs(a - mid), half) & TV.LessThanOrEqual(TV.Abs(b - mid), half));
    }

    /// <summary>All lanes of both vectors at most <see cref="ShiftHi"/> (false for NaN).</summary>
    private static bool AtMostShiftHi<TV>(TV a, TV b) where TV : struct, IFloatVector<TV>
    {
        var hi = TV.Splat(ShiftHi);
        return TV.All(TV.LessThanOrEqual(a, hi) & TV.LessThanOrEqual(b, hi));
    }

    /// <summary>e^v for v = x − m with a lane outside [Lo, Hi], off the hot path: marked lanes take <see cref="MathF.Exp"/>(x − m).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TV ShiftedExpPatch<TV>(TV v, float* x, float m) where TV : struct, IFloatVector<TV>
    {
        var e = ExpLanes(v, out var scalar);
        if (!TV.IsZero(scalar))
            for (int l = 0; l < TV.Count; l++)
                if (TV.Get(scalar, l) != 0) e = TV.With(e, l, MathF.Exp(x[l] - m));
        return e;
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
