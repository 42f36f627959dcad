// Strided elementwise kernels over a shared shape: broadcast binary ops, where, and copy with dtype
// conversion (float32, float64, int32, int64, bfloat16). The host collapses mergeable axes first.
typedef long long i64;
typedef unsigned short bf16;

#define MAX_DIMS 8

// Shape and per-operand strides (in elements); operand k's stride of axis d is stride[k][d].
struct Dims
{
    i64 rank;
    i64 size[MAX_DIMS];
    i64 stride[4][MAX_DIMS];
};

__device__ __forceinline__ void offsets(const Dims& d, i64 i, int operands, i64* off)
{
    for (int k = 0; k < operands; k++) off[k] = 0;
    for (int a = (int)d.rank - 1; a >= 0; a--)
    {
        i64 s = d.size[a];
        i64 q = i / s;
        i64 c = i - q * s;
        for (int k = 0; k < operands; k++) off[k] += c * d.stride[k][a];
        i = q;
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

template <typename T> __device__ void binary(const Dims& d, const T* a, const T* b, T* y, i64 n, i64 op)
{
    i64 off[3];
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        offsets(d, i, 3, off);
        y[off[2]] = binary_value<T>((int)op, a[off[0]], b[off[1]]);
    }
}

template <typename T> __device__ void where(const Dims& d, const T* c, const T* a, const T* b, T* y, i64 n)
{
    i64 off[4];
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        offsets(d, i, 4, off);
        y[off[3]] = c[off[0]] != T(0) ? a[off[1]] : b[off[2]];
    }
}

extern "C" __global__ void binary_f32(Dims d, const float* a, const float* b, float* y, i64 n, i64 op) { binary(d, a, b, y, n, op); }
extern "C" __global__ void binary_f64(Dims d, const double* a, const double* b, double* y, i64 n, i64 op) { binary(d, a, b, y, n, op); }
extern "C" __global__ void where_f32(Dims d, const float* c, const float* a, const float* b, float* y, i64 n) { where(d, c, a, b, y, n); }
extern "C" __global__ void where_f64(Dims d, const double* c, const double* a, const double* b, double* y, i64 n) { where(d, c, a, b, y, n); }

// bfloat16 <-> float32 with round-to-nearest-even; NaN stays a quiet NaN (same bits as the CPU).
__device__ __forceinline__ bf16 to_bf16(float f)
{
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (bf16)((u >> 16) | 0x40u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (bf16)(u >> 16);
}
__device__ __forceinline__ float from_bf16(bf16 b) { return __uint_as_float(((unsigned int)b) << 16); }

// Conversion rules: numeric casts as in C (float to int truncates), bfloat16 through float32.
template <typename D> struct Conv
{
    template <typename S> __device__ static D from(S s) { return (D)s; }
    __device__ static D from(bf16 s) { return (D)from_bf16(s); }
};
template <> struct Conv<bf16>
{
    template <typename S> __device__ static bf16 from(S s) { return to_bf16((float)s); }
    __device__ static bf16 from(bf16 s) { return s; }
};

template <typename S, typename D> __device__ void copy(const Dims& d, const S* src, D* dst, i64 n)
{
    i64 off[2];
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        offsets(d, i, 2, off);
        dst[off[1]] = Conv<D>::from(src[off[0]]);
    }
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
