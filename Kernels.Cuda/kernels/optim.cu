// Fused optimizer updates over contiguous parameter, gradient and state (same formulas and rounding
// order as the CPU kernels; the host passes the per-step scalars). Storage S (float, double, bfloat16; parameter,
// gradient and state alike) with compute C (S itself; float for bfloat16): each element is updated in C and its new
// state and parameter are rounded to S once.
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

// m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²; p = p·decay − step·m / (√v·invSqrtBc2 + eps)
template <typename S, typename C = S> __device__ void adamw(S* p, const S* g, S* m, S* v, i64 n, double b1d, double b2d, double stepd, double isbd, double epsd, double decayd)
{
    C b1 = (C)b1d, b2 = (C)b2d, c1 = C(1) - b1, c2 = C(1) - b2, step = (C)stepd, isb = (C)isbd, eps = (C)epsd, decay = (C)decayd;
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        C gi = widen(g[i]);
        C mi = b1 * widen(m[i]) + c1 * gi;
        C vi = b2 * widen(v[i]) + c2 * gi * gi;
        m[i] = narrow<S>(mi);
        v[i] = narrow<S>(vi);
        p[i] = narrow<S>(widen(p[i]) * decay - step * mi / (sqrt(vi) * isb + eps));
    }
}

// d = g + wd·p; with a momentum buffer b: d = mu·b + d, b = d; p −= lr·d
template <typename S, typename C = S> __device__ void sgd(S* p, const S* g, S* b, i64 n, double lr, double mu, double wd)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        C d = widen(g[i]) + (C)wd * widen(p[i]);
        if (b) { d = (C)mu * widen(b[i]) + d; b[i] = narrow<S>(d); }
        p[i] = narrow<S>(widen(p[i]) - (C)lr * d);
    }
}

#define OPTIM(SN, S, C) \
    extern "C" __global__ void adamw_##SN(S* p, const S* g, S* m, S* v, i64 n, double b1, double b2, double step, double isb, double eps, double decay) \
    { adamw<S, C>(p, g, m, v, n, b1, b2, step, isb, eps, decay); } \
    extern "C" __global__ void sgd_##SN(S* p, const S* g, S* b, i64 n, double lr, double mu, double wd) { sgd<S, C>(p, g, b, n, lr, mu, wd); }

OPTIM(f32, float, float)
OPTIM(f64, double, double)
OPTIM(bf16, bf16, float)
