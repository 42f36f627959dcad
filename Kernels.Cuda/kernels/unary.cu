// Elementwise functions of one argument and their derivatives (LightNet UnaryOp order), and the fused SwiGLU
// product SiLU(gate)·up with its backward. Contiguous operands; one grid-stride loop per launch over 16-byte vectors
// (scalar tail, scalar loop for unaligned views). Storage S (float, double, bfloat16) with compute C (S itself; float
// for bfloat16).
#include "common.cuh"

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
    const S* in[1] = { x };
    S* out[1] = { y };
    map<S>(in, out, n, [op](const S* v, S* r) { r[0] = narrow<S>(unary_value<C>((int)op, widen(v[0]))); });
}

template <typename S, typename C = S> __device__ void unary_bwd(const S* x, const S* y, const S* dy, S* dx, i64 n, i64 op)
{
    const S* in[3] = { x, y, dy };
    S* out[1] = { dx };
    map<S>(in, out, n, [op](const S* v, S* r) { r[0] = narrow<S>(unary_grad<C>((int)op, widen(v[0]), widen(v[1]), widen(v[2]))); });
}

template <typename S, typename C = S> __device__ void swiglu(const S* a, const S* b, S* y, i64 n)
{
    const S* in[2] = { a, b };
    S* out[1] = { y };
    map<S>(in, out, n, [](const S* v, S* r)
    {
        C x = widen(v[0]);
        r[0] = narrow<S>(x * sigmoid(x) * widen(v[1]));
    });
}

template <typename S, typename C = S> __device__ void swiglu_bwd(const S* a, const S* b, const S* dy, S* da, S* db, i64 n)
{
    const S* in[3] = { a, b, dy };
    S* out[2] = { da, db };
    map<S>(in, out, n, [](const S* v, S* r)
    {
        C x = widen(v[0]), s = sigmoid(x), g = widen(v[2]);
        r[1] = narrow<S>(g * (x * s));
        r[0] = narrow<S>(g * widen(v[1]) * s * (C(1) + x * (C(1) - s)));
    });
}

#define UNARY(SN, S, C) \
    extern "C" __global__ void unary_##SN(const S* x, S* y, i64 n, i64 op) { unary<S, C>(x, y, n, op); } \
    extern "C" __global__ void unary_bwd_##SN(const S* x, const S* y, const S* dy, S* dx, i64 n, i64 op) { unary_bwd<S, C>(x, y, dy, dx, n, op); } \
    extern "C" __global__ void swiglu_##SN(const S* a, const S* b, S* y, i64 n) { swiglu<S, C>(a, b, y, n); } \
    extern "C" __global__ void swiglu_bwd_##SN(const S* a, const S* b, const S* dy, S* da, S* db, i64 n) { swiglu_bwd<S, C>(a, b, dy, da, db, n); }

UNARY(f32, float, float)
UNARY(f64, double, double)
UNARY(bf16, bf16, float)
