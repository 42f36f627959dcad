// Elementwise functions of one argument and their derivatives (LightNet UnaryOp order), and the fused SwiGLU
// product SiLU(gate)·up with its backward. Contiguous operands; one grid-stride loop per launch. Storage S (float,
// double, bfloat16) with compute C (S itself; float for bfloat16).
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

enum { NEG, EXP, LOG, SQRT, RSQRT, TANH, SIGMOID, SILU, GELU, RELU, ABS, SQUARE, RECIPROCAL, SIN, COS };

__device__ __forceinline__ float f_exp(float x) { return expf(x); }
__device__ __forceinline__ double f_exp(double x) { return exp(x); }

template <typename T> __device__ __forceinline__ T sigmoid(T x) { return T(1) / (T(1) + f_exp(-x)); }

template <typename T> __device__ T unary_value(int op, T x)
{
    switch (op)
    {
    case NEG: return -x;
    case EXP: return f_exp(x);
    case LOG: return log(x);
    case SQRT: return sqrt(x);
    case RSQRT: return T(1) / sqrt(x);
    case TANH: return tanh(x);
    case SIGMOID: return sigmoid(x);
    case SILU: return x * sigmoid(x);
    case GELU: { double v = (double)x; return (T)(0.5 * v * (1.0 + erf(v * 0.70710678118654752440))); }
    case RELU: return x > T(0) ? x : (x != x ? x : T(0));
    case ABS: return fabs(x);
    case SQUARE: return x * x;
    case RECIPROCAL: return T(1) / x;
    case SIN: return sin(x);
    case COS: return cos(x);
    }
    return x;
}

template <typename T> __device__ T unary_grad(int op, T x, T y, T g)
{
    switch (op)
    {
    case NEG: return -g;
    case EXP: return g * y;
    case LOG: return g / x;
    case SQRT: return g / y * T(0.5);
    case RSQRT: return y * y * y * g * T(-0.5);
    case TANH: return (T(1) - y * y) * g;
    case SIGMOID: return (T(1) - y) * y * g;
    case SILU: { T s = sigmoid(x); return g * s * (T(1) + x * (T(1) - s)); }
    case GELU:
    {
        double v = (double)x;
        double cdf = 0.5 * (1.0 + erf(v * 0.70710678118654752440));
        double pdf = exp(-0.5 * v * v) * 0.39894228040143267794;
        return g * (T)(cdf + v * pdf);
    }
    case RELU: return x > T(0) ? g : T(0);
    case ABS: return x > T(0) ? g : (x < T(0) ? -g : T(0));
    case SQUARE: return x * g * T(2);
    case RECIPROCAL: return -(y * y * g);
    case SIN: return cos(x) * g;
    case COS: return -(sin(x) * g);
    }
    return g;
}

template <typename S, typename C = S> __device__ void unary(const S* x, S* y, i64 n, i64 op)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
        y[i] = narrow<S>(unary_value<C>((int)op, widen(x[i])));
}

template <typename S, typename C = S> __device__ void unary_bwd(const S* x, const S* y, const S* dy, S* dx, i64 n, i64 op)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
        dx[i] = narrow<S>(unary_grad<C>((int)op, widen(x[i]), widen(y[i]), widen(dy[i])));
}

template <typename S, typename C = S> __device__ void swiglu(const S* a, const S* b, S* y, i64 n)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        C x = widen(a[i]);
        y[i] = narrow<S>(x * sigmoid(x) * widen(b[i]));
    }
}

template <typename S, typename C = S> __device__ void swiglu_bwd(const S* a, const S* b, const S* dy, S* da, S* db, i64 n)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        C x = widen(a[i]), s = sigmoid(x), g = widen(dy[i]);
        db[i] = narrow<S>(g * (x * s));
        da[i] = narrow<S>(g * widen(b[i]) * s * (C(1) + x * (C(1) - s)));
    }
}

#define UNARY(SN, S, C) \
    extern "C" __global__ void unary_##SN(const S* x, S* y, i64 n, i64 op) { unary<S, C>(x, y, n, op); } \
    extern "C" __global__ void unary_bwd_##SN(const S* x, const S* y, const S* dy, S* dx, i64 n, i64 op) { unary_bwd<S, C>(x, y, dy, dx, n, op); } \
    extern "C" __global__ void swiglu_##SN(const S* a, const S* b, S* y, i64 n) { swiglu<S, C>(a, b, y, n); } \
    extern "C" __global__ void swiglu_bwd_##SN(const S* a, const S* b, const S* dy, S* da, S* db, i64 n) { swiglu_bwd<S, C>(a, b, dy, da, db, n); }

UNARY(f32, float, float)
UNARY(f64, double, double)
UNARY(bf16, bf16, float)
