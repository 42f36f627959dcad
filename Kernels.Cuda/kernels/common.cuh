// Pieces shared by the kernel files (included with #include "common.cuh"; a PTX's recorded source hash covers the .cu file
// and the headers it includes, see scripts/ptx.sh and KernelSources.SourceHash).
#pragma once
typedef long long i64;

// bfloat16 storage (raw bits) with float32 compute: widen on load, narrow with round-to-nearest-even on store (NaN
// stays a quiet NaN, the CPU's bits); float and double load and store unchanged.
typedef unsigned short bf16;
__device__ __forceinline__ float widen(bf16 b) { return __uint_as_float(((unsigned int)b) << 16); }
__device__ __forceinline__ float widen(float v) { return v; }
__device__ __forceinline__ double widen(double v) { return v; }
template <typename S, typename C> __device__ __forceinline__ S narrow(C v) { return v; }
template <> __device__ __forceinline__ bf16 narrow<bf16, float>(float f)
{
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (bf16)((u >> 16) | 0x40u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (bf16)(u >> 16);
}

// 16 bytes of storage (4 float, 2 double, 8 bfloat16): the unit of the vectorised loads and stores.
template <typename S> struct __align__(16) Vec
{
    static const int N = 16 / sizeof(S);
    S s[N];
};

__device__ __forceinline__ bool aligned16(const void* p) { return ((unsigned long long)p & 15) == 0; }

// Applies f(i, in, out) to the n elements of I inputs and O outputs, all contiguous: 16-byte vectors while every pointer
// is 16-byte aligned (a view's offset can make it unaligned: then elements one by one), the scalar loop for the tail.
// f gets the I stored input values of element i and writes its O stored results.
template <typename S, int I, int O, typename F> __device__ __forceinline__ void map(const S* const (&in)[I], S* const (&out)[O], i64 n, F f)
{
    const int N = Vec<S>::N;
    bool vec = true;
    for (int k = 0; k < I; k++) vec = vec && aligned16(in[k]);
    for (int k = 0; k < O; k++) vec = vec && aligned16(out[k]);
    i64 tid = blockIdx.x * (i64)blockDim.x + threadIdx.x, stride = (i64)gridDim.x * blockDim.x;
    i64 nv = vec ? n / N : 0;
    for (i64 j = tid; j < nv; j += stride)
    {
        Vec<S> a[I], r[O];
#pragma unroll
        for (int k = 0; k < I; k++) a[k] = ((const Vec<S>*)in[k])[j];
#pragma unroll
        for (int e = 0; e < N; e++)
        {
            S x[I], y[O];
#pragma unroll
            for (int k = 0; k < I; k++) x[k] = a[k].s[e];
            f(x, y);
#pragma unroll
            for (int k = 0; k < O; k++) r[k].s[e] = y[k];
        }
#pragma unroll
        for (int k = 0; k < O; k++) ((Vec<S>*)out[k])[j] = r[k];
    }
    for (i64 i = nv * N + tid; i < n; i += stride)
    {
        S x[I], y[O];
#pragma unroll
        for (int k = 0; k < I; k++) x[k] = in[k][i];
        f(x, y);
#pragma unroll
        for (int k = 0; k < O; k++) out[k][i] = y[k];
    }
}

// Token rows of sequence n = b·H + h of a [B, H, T, dim] attention operand: row t at (n / h)·sb + (n mod h)·sh + t·st
// (heads-major [B, H, T, dim]: sb = H·T·dim, sh = T·dim, st = dim; tokens-major [B, T, H, dim]: sb = T·H·dim, sh = dim,
// st = H·dim).
struct Rows
{
    i64 h, sb, sh, st;
    __device__ __forceinline__ i64 at(i64 n, i64 t) const { return (n / h) * sb + (n % h) * sh + t * st; }
    // Every row start is a multiple of v elements.
    __device__ __forceinline__ bool aligned(int v) const { return sb % v == 0 && sh % v == 0 && st % v == 0; }
};
