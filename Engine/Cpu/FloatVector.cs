using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LightNet.Cpu;

/// <summary>
/// A float32 SIMD vector of one fixed width as a type parameter, so that one kernel body serves AVX2 (<see cref="F8"/>) and
/// AVX-512 (<see cref="F16"/>): the JIT compiles a separate, fully inlined copy per width (.NET's own ISimdVector is not
/// public). Masks are vectors with all bits set in the true lanes, as the comparison intrinsics give them.
/// </summary>
internal interface IFloatVector<TV> where TV : struct, IFloatVector<TV>
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }
    /// <summary>True when the hardware runs this width natively (with FMA and the table permute).</summary>
    static abstract bool Supported { get; }
    static abstract TV Splat(float v);
    static abstract unsafe TV Load(float* p);
    static abstract unsafe void Store(TV v, float* p);
    /// <summary>Non-temporal store; p aligned to the vector's size.</summary>
    static abstract unsafe void StoreStreaming(TV v, float* p);
    static abstract TV operator +(TV a, TV b);
    static abstract TV operator -(TV a, TV b);
    static abstract TV operator *(TV a, TV b);
    static abstract TV operator /(TV a, TV b);
    static abstract TV operator -(TV a);
    static abstract TV operator |(TV a, TV b);
    static abstract TV operator &(TV a, TV b);
    static abstract TV operator ~(TV a);
    /// <summary>a·b + c with one rounding.</summary>
    static abstract TV Fma(TV a, TV b, TV c);
    static abstract TV Abs(TV a);
    static abstract TV Min(TV a, TV b);
    static abstract TV Max(TV a, TV b);
    /// <summary>The hardware maximum (vmaxps): for lanes without NaN and ±0 pairs the same as <see cref="Max"/>, in one instruction.</summary>
    static abstract TV MaxNative(TV a, TV b);
    static abstract TV LessThan(TV a, TV b);
    static abstract TV LessThanOrEqual(TV a, TV b);
    /// <summary>mask ? a : b per lane.</summary>
    static abstract TV Select(TV mask, TV a, TV b);
    /// <summary>True when every lane of the mask is set.</summary>
    static abstract bool All(TV mask);
    /// <summary>True when no bit of any lane is set.</summary>
    static abstract bool IsZero(TV v);
    /// <summary>table[bits of lane l of <paramref name="index"/> mod 8] per lane, the table given as 8 floats.</summary>
    static abstract TV Lookup8(TV table8, TV index);
    /// <summary>The vector of 8 table entries repeated over the lanes (for <see cref="Lookup8"/>).</summary>
    static abstract TV Table8(float t0, float t1, float t2, float t3, float t4, float t5, float t6, float t7);
    /// <summary>Adds <c>(bits(t) &lt;&lt; shift) &amp; mask</c> to the bits of p (2^k into the exponent field).</summary>
    static abstract TV AddShiftedBits(TV p, TV t, int shift, int mask);
    static abstract float Sum(TV v);
    static abstract float Get(TV v, int lane);
    static abstract TV With(TV v, int lane, float value);
}

/// <summary>Eight float32 lanes (AVX2 + FMA).</summary>
internal readonly struct F8(Vector256<float> v) : IFloatVector<F8>
{
    private readonly Vector256<float> _v = v;
    public static int Count => 8;
    public static bool Supported => Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 Splat(float v) => new(Vector256.Create(v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe F8 Load(float* p) => new(Vector256.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(F8 v, float* p) => Vector256.Store(v._v, p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void StoreStreaming(F8 v, float* p) => Vector256.StoreAlignedNonTemporal(v._v, p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 operator +(F8 a, F8 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 operator -(F8 a, F8 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 operator *(F8 a, F8 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 operator /(F8 a, F8 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 operator -(F8 a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 operator |(F8 a, F8 b) => new(a._v | b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 operator &(F8 a, F8 b) => new(a._v & b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 operator ~(F8 a) => new(~a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 Fma(F8 a, F8 b, F8 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 Abs(F8 a) => new(Vector256.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 Min(F8 a, F8 b) => new(Vector256.Min(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 Max(F8 a, F8 b) => new(Vector256.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 MaxNative(F8 a, F8 b) => new(Vector256.MaxNative(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 LessThan(F8 a, F8 b) => new(Vector256.LessThan(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 LessThanOrEqual(F8 a, F8 b) => new(Vector256.LessThanOrEqual(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 Select(F8 mask, F8 a, F8 b) => new(Vector256.ConditionalSelect(mask._v, a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool All(F8 mask) => Vector256.ExtractMostSignificantBits(mask._v) == 0xFF;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool IsZero(F8 v) => v._v.AsInt32() == Vector256<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 Lookup8(F8 table8, F8 index) => new(Avx2.PermuteVar8x32(table8._v, index._v.AsInt32()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F8 Table8(float t0, float t1, float t2, float t3, float t4, float t5, float t6, float t7) => new(Vector256.Create(t0, t1, t2, t3, t4, t5, t6, t7));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F8 AddShiftedBits(F8 p, F8 t, int shift, int mask) => new((p._v.AsInt32() + ((t._v.AsInt32() << shift) & Vector256.Create(mask))).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(F8 v) => Vector256.Sum(v._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Get(F8 v, int lane) => v._v.GetElement(lane);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F8 With(F8 v, int lane, float value) => new(v._v.WithElement(lane, value));
}

/// <summary>Sixteen float32 lanes (AVX-512F).</summary>
internal readonly struct F16(Vector512<float> v) : IFloatVector<F16>
{
    private readonly Vector512<float> _v = v;
    public static int Count => 16;
    public static bool Supported => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 Splat(float v) => new(Vector512.Create(v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe F16 Load(float* p) => new(Vector512.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(F16 v, float* p) => Vector512.Store(v._v, p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void StoreStreaming(F16 v, float* p) => Vector512.StoreAlignedNonTemporal(v._v, p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 operator +(F16 a, F16 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 operator -(F16 a, F16 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 operator *(F16 a, F16 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 operator /(F16 a, F16 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 operator -(F16 a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 operator |(F16 a, F16 b) => new(a._v | b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 operator &(F16 a, F16 b) => new(a._v & b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 operator ~(F16 a) => new(~a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 Fma(F16 a, F16 b, F16 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 Abs(F16 a) => new(Vector512.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 Min(F16 a, F16 b) => new(Vector512.Min(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 Max(F16 a, F16 b) => new(Vector512.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 MaxNative(F16 a, F16 b) => new(Vector512.MaxNative(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 LessThan(F16 a, F16 b) => new(Vector512.LessThan(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 LessThanOrEqual(F16 a, F16 b) => new(Vector512.LessThanOrEqual(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 Select(F16 mask, F16 a, F16 b) => new(Vector512.ConditionalSelect(mask._v, a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool All(F16 mask) => Vector512.ExtractMostSignificantBits(mask._v) == 0xFFFF;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool IsZero(F16 v) => v._v.AsInt32() == Vector512<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 Lookup8(F16 table8, F16 index) => new(Avx512F.PermuteVar16x32(table8._v, index._v.AsInt32()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F16 Table8(float t0, float t1, float t2, float t3, float t4, float t5, float t6, float t7) =>
        new(Vector512.Create(t0, t1, t2, t3, t4, t5, t6, t7, t0, t1, t2, t3, t4, t5, t6, t7));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F16 AddShiftedBits(F16 p, F16 t, int shift, int mask) => new((p._v.AsInt32() + ((t._v.AsInt32() << shift) & Vector512.Create(mask))).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(F16 v) => Vector512.Sum(v._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Get(F16 v, int lane) => v._v.GetElement(lane);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16 With(F16 v, int lane, float value) => new(v._v.WithElement(lane, value));
}
