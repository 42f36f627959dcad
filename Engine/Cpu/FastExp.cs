using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LightNet.Cpu;

/// <summary>
/// float32 e^x and the ops built on it (sigmoid, SiLU and its derivative, SwiGLU, softmax's shifted exp-and-sum) at memory
/// speed: x = (8k + j)·ln2/8 + r with |r| ≤ ln2/16 (Cody–Waite), 2^(j/8) from an 8-entry register table, a cubic for e^r and
/// 2^k added to the exponent bits; AVX2 + FMA, two vectors per iteration. Lanes below −104 give exactly +0 in the vector
/// path; lanes in the subnormal band [−104, −86.5), above 88 (overflow) or NaN are recomputed one by one with
/// <see cref="MathF.Exp"/> in an out-of-line routine (one range test per pair of vectors on the hot path), so those follow the
/// scalar definition exactly. The tail of a span runs as padded vectors: an element's value never depends on its
/// neighbours or its position.
/// </summary>
internal static unsafe class FastExp
{
    private const int W = 8;

    /// <summary>The vector path needs AVX2 (the table permute) and FMA; otherwise every element takes the scalar definition.</summary>
    private static bool Vectorised => Avx2.IsSupported && Fma.IsSupported;

    private const float Lo = -86.5f, Hi = 88f;

    /// <summary>8·log2(e), and ln2/8 split Cody–Waite style (the high part has 9 significant bits, so n·<see cref="Ln2Hi8"/> is exact).</summary>
    private const float Log2E8 = 11.5415603271f, Ln2Hi8 = 0.086669921875f, Ln2Lo8 = -2.6524305e-5f;

    /// <summary>
    /// e^x for x already known to lie in [Lo, Hi] in every lane. With n = round(8x·log2e) = 8k + j (j ∈ 0..7) and
    /// r = x − n·ln2/8 (|r| ≤ ln2/16): e^x = 2^k · 2^(j/8) · e^r. 2^(j/8) comes from an 8-entry table in one register
    /// (vpermps reads the low three bits of the index), e^r ≈ 1 + r + c2·r² + c3·r³ (minimax relative error 2.6e-8 on
    /// |r| ≤ ln2/16), and 2^k is added to the exponent bits: 7 multiply/FMA operations per vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Core(Vector256<float> x)
    {
        // t = 8x·log2e + 1.5·2²³ rounds n into t's low mantissa bits in the same (fused) operation.
        var magic = Vector256.Create(12582912f);
        var t = Vector256.FusedMultiplyAdd(x, Vector256.Create(Log2E8), magic);
        var n = t - magic;
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi8), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo8), r);
        var ti = t.AsInt32();
        var table = Vector256.Create(1f, 1.09050773f, 1.18920712f, 1.29683955f, 1.41421356f, 1.54221083f, 1.68179283f, 1.83400809f);
        var tj = Avx2.PermuteVar8x32(table, ti);
        var q = Vector256.FusedMultiplyAdd(Vector256.Create(1.666685939e-1f), r, Vector256.Create(5.000644922e-1f));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256<float>.One);
        var p = Vector256.FusedMultiplyAdd(tj * r, q, tj);
        // (t's bits << 20) = n << 20 (the magic constant's low 12 bits are 0); masking off j leaves k in the exponent field.
        return (p.AsInt32() + ((ti << 20) & Vector256.Create(unchecked((int)0xFF800000)))).AsSingle();
    }

    /// <summary>All lanes of both vectors within [Lo, Hi] (false for NaN and ±∞): one distance test per vector, one branch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool InRange(Vector256<float> a, Vector256<float> b)
    {
        var mid = Vector256.Create((Lo + Hi) / 2);
        var half = Vector256.Create((Hi - Lo) / 2);
        var both = Vector256.LessThanOrEqual(Vector256.Abs(a - mid), half) & Vector256.LessThanOrEqual(Vector256.Abs(b - mid), half);
        return Vector256.ExtractMostSignificantBits(both) == 0xFF;
    }

    /// <summary>Below this e^x rounds to +0 in float32 (under half the smallest subnormal).</summary>
    private const float Underflow = -104f;

    /// <summary>
    /// e^arg lane by lane for any input: exact +0 below <see cref="Underflow"/>; <paramref name="scalar"/> marks the lanes the
    /// vector formula does not cover (NaN, overflow above Hi, the subnormal band [−104, Lo)), which the caller recomputes one
    /// by one; lanes in [Lo, Hi] get exactly <see cref="Core"/>'s value, as on the hot path.
    /// </summary>
    private static Vector256<float> ExpLanes(Vector256<float> arg, out Vector256<float> scalar)
    {
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
        /// <summary>True when the op reads the second input g.</summary>
        static abstract bool Binary { get; }
        static abstract Vector256<float> Vec(Vector256<float> x, Vector256<float> e, Vector256<float> g);
        static abstract float Scalar(float x, float g);
    }

    /// <summary>How a result vector is written (a type parameter, so the loop has no branch on it).</summary>
    private interface IStore
    {
        static abstract void Store(Vector256<float> v, float* p);
    }

    /// <summary>Ordinary stores.</summary>
    private struct Cached : IStore
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, float* p) => Vector256.Store(v, p);
    }

    /// <summary>Non-temporal stores (32-byte aligned destination): no read-for-ownership of lines nothing will read soon.</summary>
    private struct Streamed : IStore
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, float* p) => Vector256.StoreAlignedNonTemporal(v, p);
    }

    /// <summary>
    /// y = op(x[, g]) in one pass; <paramref name="streaming"/> writes y with non-temporal stores (no read-for-ownership:
    /// for outputs too large to stay cached; the caller fences before the result is used). y may be x.
    /// </summary>
    private static void Map<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> y, bool streaming) where TOp : struct, IOp
    {
        int n = x.Length;
        fixed (float* px = x, pg = g, py = y)
        {
            if (!Vectorised)
            {
                for (int i = 0; i < n; i++) py[i] = TOp.Scalar(px[i], TOp.Binary ? pg[i] : 0f);
                return;
            }
            int full = n & -(2 * W);
            if (streaming && ((nint)py & 31) == 0) Body<TOp, Streamed>(px, pg, py, full);
            else Body<TOp, Cached>(px, pg, py, full);
            if (full == n) return;
            // The rest (under two vectors) zero-padded: an element's value does not depend on where it sits.
            float* tx = stackalloc float[2 * W], tg = stackalloc float[2 * W], ty = stackalloc float[2 * W];
            new Span<float>(tx, 2 * W).Clear();
            new Span<float>(tg, 2 * W).Clear();
            x[full..].CopyTo(new Span<float>(tx, 2 * W));
            if (TOp.Binary) g[full..].CopyTo(new Span<float>(tg, 2 * W));
            Body<TOp, Cached>(tx, tg, ty, 2 * W);
            new ReadOnlySpan<float>(ty, n - full).CopyTo(y[full..]);
        }
    }

    /// <summary>The vector loop over n elements (a multiple of two vectors); a pair with a lane out of range goes to <see cref="Patch{TOp}"/>.</summary>
    private static void Body<TOp, TStore>(float* x, float* g, float* y, int n) where TOp : struct, IOp where TStore : struct, IStore
    {
        for (int i = 0; i < n; i += 2 * W)
        {
            var v0 = Vector256.Load(x + i);
            var v1 = Vector256.Load(x + i + W);
            var a0 = TOp.Negate ? -v0 : v0;
            var a1 = TOp.Negate ? -v1 : v1;
            if (!InRange(a0, a1))
            {
                Patch<TOp>(x + i, g + i, y + i);
                Patch<TOp>(x + i + W, g + i + W, y + i + W);
                continue;
            }
            var r0 = TOp.Vec(v0, Core(a0), TOp.Binary ? Vector256.Load(g + i) : default);
            var r1 = TOp.Vec(v1, Core(a1), TOp.Binary ? Vector256.Load(g + i + W) : default);
            TStore.Store(r0, y + i);
            TStore.Store(r1, y + i + W);
        }
    }

    /// <summary>One vector with a lane outside [Lo, Hi], off the hot path: the lanes <see cref="ExpLanes"/> marks take the scalar definition.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Patch<TOp>(float* x, float* g, float* y) where TOp : struct, IOp
    {
        var v = Vector256.Load(x);
        var e = ExpLanes(TOp.Negate ? -v : v, out var scalar);
        var r = TOp.Vec(v, e, TOp.Binary ? Vector256.Load(g) : default);
        if (scalar == Vector256<float>.Zero) { Vector256.Store(r, y); return; }
        // Lane by lane, reading x and g before writing y (they may alias).
        for (int l = 0; l < W; l++)
            y[l] = scalar.GetElement(l) != 0 ? TOp.Scalar(x[l], TOp.Binary ? g[l] : 0f) : r.GetElement(l);
    }

    private struct ExpOp : IOp
    {
        public static bool Negate => false;
        public static bool Binary => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Vec(Vector256<float> x, Vector256<float> e, Vector256<float> g) => e;
        public static float Scalar(float x, float g) => MathF.Exp(x);
    }

    private struct SigmoidOp : IOp
    {
        public static bool Negate => true;
        public static bool Binary => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Vec(Vector256<float> x, Vector256<float> e, Vector256<float> g) => Vector256<float>.One / (Vector256<float>.One + e);
        public static float Scalar(float x, float g) => Sig(x);
    }

    private struct SiluOp : IOp
    {
        public static bool Negate => true;
        public static bool Binary => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Vec(Vector256<float> x, Vector256<float> e, Vector256<float> g) => x / (Vector256<float>.One + e);
        public static float Scalar(float x, float g) => x * Sig(x);
    }

    private struct SiluBackwardOp : IOp
    {
        public static bool Negate => true;
        public static bool Binary => true;
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
        public static bool Binary => true;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Vec(Vector256<float> x, Vector256<float> e, Vector256<float> g) => x / (Vector256<float>.One + e) * g;
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
            if (!Vectorised)
            {
                for (int i = 0; i < n; i++) ScalarSwiGluBackward(pa[i], pb[i], pg[i], out pda[i], out pdb[i]);
                return;
            }
            int full = n & -W;
            for (int i = 0; i < full; i += W)
            {
                var a = Vector256.Load(pa + i);
                if (!InRange(-a, -a)) { SwiGluBackwardPatch(pa + i, pb + i, pg + i, pda + i, pdb + i); continue; }
                SwiGluBackwardVec(a, Core(-a), Vector256.Load(pb + i), Vector256.Load(pg + i), out var ga, out var gb);
                Vector256.Store(ga, pdb + i);
                Vector256.Store(gb, pda + i);
            }
            if (full == n) return;
            // The tail as one zero-padded vector, like Map.
            float* t = stackalloc float[5 * W];
            new Span<float>(t, 5 * W).Clear();
            gate[full..].CopyTo(new Span<float>(t, W));
            up[full..].CopyTo(new Span<float>(t + W, W));
            dy[full..].CopyTo(new Span<float>(t + 2 * W, W));
            SwiGluBackwardPatch(t, t + W, t + 2 * W, t + 3 * W, t + 4 * W);
            new ReadOnlySpan<float>(t + 3 * W, n - full).CopyTo(dGate[full..]);
            new ReadOnlySpan<float>(t + 4 * W, n - full).CopyTo(dUp[full..]);
        }
    }

    /// <summary>The vector formula of <see cref="SwiGluBackward"/> given e = e^−a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SwiGluBackwardVec(Vector256<float> a, Vector256<float> e, Vector256<float> b, Vector256<float> g, out Vector256<float> ga, out Vector256<float> gb)
    {
        var s = Vector256<float>.One / (Vector256<float>.One + e);
        ga = g * (a * s);
        gb = g * b * s * (Vector256<float>.One + a * (e * s));
    }

    /// <summary>One vector of <see cref="SwiGluBackward"/> off the hot path: the lanes <see cref="ExpLanes"/> marks take the scalar definition.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SwiGluBackwardPatch(float* pa, float* pb, float* pg, float* pda, float* pdb)
    {
        var a = Vector256.Load(pa);
        var e = ExpLanes(-a, out var scalar);
        SwiGluBackwardVec(a, e, Vector256.Load(pb), Vector256.Load(pg), out var ga, out var gb);
        for (int l = 0; l < W; l++)
            if (scalar.GetElement(l) == 0) { pdb[l] = ga.GetElement(l); pda[l] = gb.GetElement(l); }
            else ScalarSwiGluBackward(pa[l], pb[l], pg[l], out pda[l], out pdb[l]);
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
        int n = x.Length;
        fixed (float* px = x, py = y)
        {
            if (!Vectorised)
            {
                float sum = 0;
                for (int i = 0; i < n; i++) { py[i] = MathF.Exp(px[i] - m); sum += py[i]; }
                return sum;
            }
            var mv = Vector256.Create(m);
            var acc0 = Vector256<float>.Zero;
            var acc1 = Vector256<float>.Zero;
            int full = n & -(2 * W);
            for (int i = 0; i < full; i += 2 * W)
            {
                var v0 = Vector256.Load(px + i) - mv;
                var v1 = Vector256.Load(px + i + W) - mv;
                Vector256<float> e0, e1;
                if (InRange(v0, v1)) { e0 = Core(v0); e1 = Core(v1); }
                else { e0 = ShiftedExpPatch(v0, px + i, m); e1 = ShiftedExpPatch(v1, px + i + W, m); }
                acc0 += e0;
                acc1 += e1;
                Vector256.Store(e0, py + i);
                Vector256.Store(e1, py + i + W);
            }
            if (full < n)
            {
                // The rest as two vectors padded with −∞ (e^−∞ = 0 adds nothing).
                float* tx = stackalloc float[2 * W];
                new Span<float>(tx, 2 * W).Fill(float.NegativeInfinity);
                x[full..].CopyTo(new Span<float>(tx, 2 * W));
                var e0 = ShiftedExpPatch(Vector256.Load(tx) - mv, tx, m);
                var e1 = ShiftedExpPatch(Vector256.Load(tx + W) - mv, tx + W, m);
                acc0 += e0;
                acc1 += e1;
                float* ty = stackalloc float[2 * W];
                Vector256.Store(e0, ty);
                Vector256.Store(e1, ty + W);
                new ReadOnlySpan<float>(ty, n - full).CopyTo(y[full..]);
            }
            return Vector256.Sum(acc0 + acc1);
        }
    }

    /// <summary>e^v for v = x − m with a lane outside [Lo, Hi], off the hot path: marked lanes take <see cref="MathF.Exp"/>(x − m).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector256<float> ShiftedExpPatch(Vector256<float> v, float* x, float m)
    {
        var e = ExpLanes(v, out var scalar);
        if (scalar != Vector256<float>.Zero)
            for (int l = 0; l < W; l++)
                if (scalar.GetElement(l) != 0) e = e.WithElement(l, MathF.Exp(x[l] - m));
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
