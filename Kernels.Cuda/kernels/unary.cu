// Elementwise functions of one argument and their derivatives (LightNet UnaryOp order), and the fused SwiGLU
// product SiLU(gate)·up with its backward. Contiguous operands; one grid-stride loop per launch.
typedef long long i64;

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

template <typename T> __device__ void unary(const T* x, T* y, i64 n, i64 op)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
        y[i] = unary_value<T>((int)op, x[i]);
}

template <typename T> __device__ void unary_bwd(const T* x, const T* y, const T* dy, T* dx, i64 n, i64 op)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
        dx[i] = unary_grad<T>((int)op, x[i], y[i], dy[i]);
}

extern "C" __global__ void unary_f32(const float* x, float* y, i64 n, i64 op) { unary(x, y, n, op); }
extern "C" __global__ void unary_f64(const double* x, double* y, i64 n, i64 op) { unary(x, y, n, op); }
extern "C" __global__ void unary_bwd_f32(const float* x, const float* y, const float* dy, float* dx, i64 n, i64 op) { unary_bwd(x, y, dy, dx, n, op); }
extern "C" __global__ void unary_bwd_f64(const double* x, const double* y, const double* dy, double* dx, i64 n, i64 op) { unary_bwd(x, y, dy, dx, n, op); }

template <typename T> __device__ void swiglu(const T* a, const T* b, T* y, i64 n)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
        y[i] = a[i] * sigmoid(a[i]) * b[i];
}

template <typename T> __device__ void swiglu_bwd(const T* a, const T* b, const T* dy, T* da, T* db, i64 n)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        T x = a[i], s = sigmoid(x), g = dy[i];
        db[i] = g * (x * s);
        da[i] = g * b[i] * s * (T(1) + x * (T(1) - s));
    }
}

extern "C" __global__ void swiglu_f32(const float* a, const float* b, float* y, i64 n) { swiglu(a, b, y, n); }
extern "C" __global__ void swiglu_f64(const double* a, const double* b, double* y, i64 n) { swiglu(a, b, y, n); }
extern "C" __global__ void swiglu_bwd_f32(const float* a, const float* b, const float* dy, float* da, float* db, i64 n) { swiglu_bwd(a, b, dy, da, db, n); }
extern "C" __global__ void swiglu_bwd_f64(const double* a, const double* b, const double* dy, double* da, double* db, i64 n) { swiglu_bwd(a, b, dy, da, db, n); }
