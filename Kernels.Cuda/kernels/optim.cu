// Fused optimizer updates over contiguous parameter, gradient and state, in 16-byte vectors where aligned (same
// formulas and rounding order as the CPU kernels; the host passes the per-step scalars). Storage S (float, double,
// bfloat16; parameter, gradient and state alike) with compute C (S itself; float for bfloat16): each element is updated
// in C and its new state and parameter are rounded to S once.
#include "common.cuh"

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
