// Fused optimizer updates over contiguous parameter, gradient and state, in 16-byte vectors where aligned (same
// formulas and rounding order as the CPU kernels; the host passes the per-step scalars). Storage S (float, double,
// bfloat16; parameter, gradient and state alike) with compute C (S itself; float for bfloat16): each element is updated
// in C and its new state and parameter are rounded to S once.
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

// m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²; p = p·decay − step·m / (√v·invSqrtBc2 + eps)
template <typename S, typename C = S> __device__ void adamw(S* p, const S* g, S* m, S* v, i64 n, double b1d, double b2d, double stepd, double isbd, double epsd, double decayd)
{
    C b1 = (C)b1d, b2 = (C)b2d, c1 = C(1) - b1, c2 = C(1) - b2, step = (C)stepd, isb = (C)isbd, eps = (C)epsd, decay = (C)decayd;
    const S* in[4] = { p, g, m, v };
    S* out[3] = { p, m, v };
    map<S>(in, out, n, [=](const S* x, S* r)
    {
        C gi = widen(x[1]);
        C mi = b1 * widen(x[2]) + c1 * gi;
        C vi = b2 * widen(x[3]) + c2 * gi * gi;
        r[1] = narrow<S>(mi);
        r[2] = narrow<S>(vi);
        r[0] = narrow<S>(widen(x[0]) * decay - step * mi / (sqrt(vi) * isb + eps));
    });
}

// d = g + wd·p; with a momentum buffer b: d = mu·b + d, b = d; p −= lr·d
template <typename S, typename C = S> __device__ void sgd(S* p, const S* g, S* b, i64 n, double lr, double mu, double wd)
{
    if (b)
    {
        const S* in[3] = { p, g, b };
        S* out[2] = { p, b };
        map<S>(in, out, n, [=](const S* x, S* r)
        {
            C d = (C)mu * widen(x[2]) + (widen(x[1]) + (C)wd * widen(x[0]));
            r[1] = narrow<S>(d);
            r[0] = narrow<S>(widen(x[0]) - (C)lr * d);
        });
        return;
    }
    const S* in[2] = { p, g };
    S* out[1] = { p };
    map<S>(in, out, n, [=](const S* x, S* r) { r[0] = narrow<S>(widen(x[0]) - (C)lr * (widen(x[1]) + (C)wd * widen(x[0]))); });
}

#define OPTIM(SN, S, C) \
    extern "C" __global__ void adamw_##SN(S* p, const S* g, S* m, S* v, i64 n, double b1, double b2, double step, double isb, double eps, double decay) \
    { adamw<S, C>(p, g, m, v, n, b1, b2, step, isb, eps, decay); } \
    extern "C" __global__ void sgd_##SN(S* p, const S* g, S* b, i64 n, double lr, double mu, double wd) { sgd<S, C>(p, g, b, n, lr, mu, wd); }

OPTIM(f32, float, float)
OPTIM(f64, double, double)
OPTIM(bf16, bf16, float)
