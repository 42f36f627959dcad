// Strided elementwise kernels over a shared shape: broadcast binary ops and where (storage S: float, double or
// bfloat16, computed in C: S itself, float for bfloat16), and copy with dtype conversion (float32, float64, int32,
// int64, bfloat16). The host collapses mergeable axes first; contiguous aligned operands take 16-byte vectors.
#include "common.cuh"

#define MAX_DIMS 8

// Shape and per-operand strides (in elements); operand k's stride of axis d is stride[k][d].
struct Dims
{
    i64 rank;
    i64 size[MAX_DIMS];
    i64 stride[4][MAX_DIMS];
};

// Element offsets of flat index i in every operand. One axis (contiguous or evenly strided operands, the common case
// after the host merges axes) needs no division; otherwise 32-bit division where the values allow (far cheaper than 64-bit).
__device__ __forceinline__ void offsets(const Dims& d, i64 i, int operands, i64* off)
{
    if (d.rank <= 1)
    {
        for (int k = 0; k < operands; k++) off[k] = d.rank == 1 ? i * d.stride[k][0] : 0;
        return;
    }
    for (int k = 0; k < operands; k++) off[k] = 0;
    for (int a = (int)d.rank - 1; a >= 0; a--)
    {
        i64 s = d.size[a];
        i64 q = ((unsigned long long)(i | s) >> 32) == 0 ? (i64)((unsigned)i / (unsigned)s) : i / s;
        i64 c = i - q * s;
        for (int k = 0; k < operands; k++) off[k] += c * d.stride[k][a];
        i = q;
    }
}

// V elements of T, a whole number of 16-byte units (the vectorised loads and stores of the contiguous fast path).
template <typename T, int V> struct __align__(16) Pack
{
    T s[V];
};

// out[i] = f(in[0][i], …, in[I−1][i]) over the n elements of the shared shape. When the collapsed dims are one axis with
// unit strides in every operand and every pointer is 16-byte aligned, V = 16 / (smaller element size) elements at a time
// with 16-byte loads and stores, then the tail one by one; otherwise element by element through the strides.
template <int I, typename S, typename D, typename F> __device__ __forceinline__ void apply(const Dims& d, const S* const (&in)[I], D* out, i64 n, F f)
{
    const int V = 16 / (sizeof(S) < sizeof(D) ? sizeof(S) : sizeof(D));
    bool vec = d.rank == 1 && d.stride[I][0] == 1 && aligned16(out);
    for (int k = 0; k < I; k++) vec = vec && d.stride[k][0] == 1 && aligned16(in[k]);
    i64 tid = blockIdx.x * (i64)blockDim.x + threadIdx.x, step = (i64)gridDim.x * blockDim.x;
    i64 nv = vec ? n / V : 0;
    for (i64 j = tid; j < nv; j += step)
    {
        Pack<S, V> a[I];
        Pack<D, V> r;
#pragma unroll
        for (int k = 0; k < I; k++) a[k] = ((const Pack<S, V>*)in[k])[j];
#pragma unroll
        for (int e = 0; e < V; e++)
        {
            S x[I];
#pragma unroll
            for (int k = 0; k < I; k++) x[k] = a[k].s[e];
            r.s[e] = f(x);
        }
        ((Pack<D, V>*)out)[j] = r;
    }
    i64 off[I + 1];
    for (i64 i = nv * V + tid; i < n; i += step)
    {
        offsets(d, i, I + 1, off);
        S x[I];
#pragma unroll
        for (int k = 0; k < I; k++) x[k] = in[k][off[k]];
        out[off[I]] = f(x);
    }
}

enum { ADD, SUB, MUL, DIV, POW, MAX, MIN, EQ, NE, LT, LE, GT, GE };

template <typename T> __device__ __forceinline__ T binary_value(int op, T a, T b)
{
    switch (op)
    {
    case ADD: return a + b;
    case SUB: return a - b;
    case MUL: return a * b;
    case DIV: return a / b;
    case POW: return pow(a, b);
    case MAX: return (a != a || b != b) ? a + b : (a > b ? a : b);
    case MIN: return (a != a || b != b) ? a + b : (a < b ? a : b);
    case EQ: return a == b ? T(1) : T(0);
    case NE: return a != b ? T(1) : T(0);
    case LT: return a < b ? T(1) : T(0);
    case LE: return a <= b ? T(1) : T(0);
    case GT: return a > b ? T(1) : T(0);
    case GE: return a >= b ? T(1) : T(0);
    }
    return a;
}

template <typename S, typename C = S> __device__ void binary(const Dims& d, const S* a, const S* b, S* y, i64 n, i64 op)
{
    const S* in[2] = { a, b };
    apply(d, in, y, n, [op](const S (&v)[2]) { return narrow<S>(binary_value<C>((int)op, widen(v[0]), widen(v[1]))); });
}

// The chosen element is copied as stored; the condition is tested in C (so −0 counts as zero in bfloat16 too).
template <typename S, typename C = S> __device__ void where(const Dims& d, const S* c, const S* a, const S* b, S* y, i64 n)
{
    const S* in[3] = { c, a, b };
    apply(d, in, y, n, [](const S (&v)[3]) { return widen(v[0]) != C(0) ? v[1] : v[2]; });
}

#define ELEMENTWISE(SN, S, C) \
    extern "C" __global__ void binary_##SN(Dims d, const S* a, const S* b, S* y, i64 n, i64 op) { binary<S, C>(d, a, b, y, n, op); } \
    extern "C" __global__ void where_##SN(Dims d, const S* c, const S* a, const S* b, S* y, i64 n) { where<S, C>(d, c, a, b, y, n); }

ELEMENTWISE(f32, float, float)
ELEMENTWISE(f64, double, double)
ELEMENTWISE(bf16, bf16, float)

// Conversion rules: numeric casts as in C (float to int truncates), bfloat16 through float32.
template <typename D> struct Conv
{
    template <typename S> __device__ static D from(S s) { return (D)s; }
    __device__ static D from(bf16 s) { return (D)widen(s); }
};
template <> struct Conv<bf16>
{
    template <typename S> __device__ static bf16 from(S s) { return narrow<bf16>((float)s); }
    __device__ static bf16 from(bf16 s) { return s; }
};

template <typename S, typename D> __device__ void copy(const Dims& d, const S* src, D* dst, i64 n)
{
    const S* in[1] = { src };
    apply(d, in, dst, n, [](const S (&v)[1]) { return Conv<D>::from(v[0]); });
}

#define COPY(SN, ST, DN, DT) \
    extern "C" __global__ void copy_##SN##_##DN(Dims d, const ST* src, DT* dst, i64 n) { copy<ST, DT>(d, src, dst, n); }
#define COPY_FROM(SN, ST) \
    COPY(SN, ST, f32, float) COPY(SN, ST, f64, double) COPY(SN, ST, i32, int) COPY(SN, ST, i64, i64) COPY(SN, ST, bf16, bf16)

COPY_FROM(f32, float)
COPY_FROM(f64, double)
COPY_FROM(i32, int)
COPY_FROM(i64, i64)
COPY_FROM(bf16, bf16)
