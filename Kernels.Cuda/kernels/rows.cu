// Kernels over the rows of a contiguous [rows, n] view: reductions (sum, mean, max, min, argmax,
// argmin, logsumexp), softmax / log-softmax forward and backward, cumulative sum and running-max
// log-cum-sum-exp, cross-entropy forward and backward. One block of ROW_BLOCK threads per row
// (grid-stride over rows) unless stated. Storage S (float, double, bfloat16) with compute C (S itself; float for
// bfloat16): every sum, maximum and log-sum-exp is taken in C, outputs are rounded to S once (the cross-entropy's
// per-row log-sum-exp, which its backward reads, stays in C).
#include "common.cuh"
typedef unsigned long long u64;

#define ROW_BLOCK 256
#define POS_INF __int_as_float(0x7f800000)
#define QNAN __int_as_float(0x7fc00000)

__device__ __forceinline__ float f_exp(float x) { return expf(x); }
__device__ __forceinline__ double f_exp(double x) { return exp(x); }
template <typename T> __device__ __forceinline__ bool is_nan(T x) { return x != x; }
template <typename T> __device__ __forceinline__ T neg_inf() { return -(T)POS_INF; }

struct SumF { template <typename T> __device__ T operator()(T a, T b) const { return a + b; } };
struct MaxF { template <typename T> __device__ T operator()(T a, T b) const { return (is_nan(a) || is_nan(b)) ? a + b : (a > b ? a : b); } };
struct MinF { template <typename T> __device__ T operator()(T a, T b) const { return (is_nan(a) || is_nan(b)) ? a + b : (a < b ? a : b); } };

// Tree reduction of one value per thread; sh holds blockDim.x entries; every thread gets the result.
template <typename T, typename F> __device__ T block_reduce(T v, T* sh, F f)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1)
    {
        if (threadIdx.x < s) sh[threadIdx.x] = f(sh[threadIdx.x], sh[threadIdx.x + s]);
        __syncthreads();
    }
    T r = sh[0];
    __syncthreads();
    return r;
}

template <typename S, typename C, typename F> __device__ C row_reduce(const S* x, i64 n, C init, C* sh, F f)
{
    C acc = init;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) acc = f(acc, widen(x[i]));
    return block_reduce(acc, sh, f);
}

// Row maximum, then log Σ exp(x − max); −∞ or NaN rows give the maximum itself.
template <typename S, typename C> __device__ C row_logsumexp(const S* x, i64 n, C* sh)
{
    C m = row_reduce(x, n, neg_inf<C>(), sh, MaxF());
    if (is_nan(m) || m == neg_inf<C>()) return m;
    C s = C(0);
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) s += f_exp(widen(x[i]) - m);
    s = block_reduce(s, sh, SumF());
    return m + log(s);
}

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_ARGMAX, R_ARGMIN, R_LSE };

// First index of the extreme value; a NaN counts as the extreme (as TensorPrimitives.IndexOfMax).
template <typename S, typename C> __device__ void arg_reduce(const S* x, i64 n, bool isMax, i64* out, C* shv, i64* shi)
{
    C best = C(0);
    i64 bi = -1;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x)
    {
        C v = widen(x[i]);
        bool take = bi < 0 || (!is_nan(best) && (is_nan(v) || (isMax ? v > best : v < best)));
        if (take) { best = v; bi = i; }
    }
    shv[threadIdx.x] = best;
    shi[threadIdx.x] = bi;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1)
    {
        if (threadIdx.x < s)
        {
            C a = shv[threadIdx.x], b = shv[threadIdx.x + s];
            i64 ia = shi[threadIdx.x], ib = shi[threadIdx.x + s];
            bool takeB;
            if (ib < 0) takeB = false;
            else if (ia < 0) takeB = true;
            else if (is_nan(a) || is_nan(b)) takeB = is_nan(b) && (!is_nan(a) || ib < ia);
            else if (a == b) takeB = ib < ia;
            else takeB = isMax ? b > a : b < a;
            if (takeB) { shv[threadIdx.x] = b; shi[threadIdx.x] = ib; }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) *out = shi[0];
    __syncthreads();
}

template <typename S, typename C = S> __device__ void reduce(const S* x, void* y, i64 rows, i64 n, i64 op)
{
    __shared__ C sh[ROW_BLOCK];
    __shared__ i64 shi[ROW_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const S* row = x + r * n;
        if (op == R_ARGMAX || op == R_ARGMIN) { arg_reduce(row, n, op == R_ARGMAX, (i64*)y + r, sh, shi); continue; }
        C v;
        switch (op)
        {
        case R_SUM: v = row_reduce(row, n, C(0), sh, SumF()); break;
        case R_MEAN: v = n == 0 ? (C)QNAN : row_reduce(row, n, C(0), sh, SumF()) / (C)n; break;
        case R_MAX: v = n == 0 ? (C)QNAN : row_reduce(row, n, neg_inf<C>(), sh, MaxF()); break;
        case R_MIN: v = n == 0 ? (C)QNAN : row_reduce(row, n, -neg_inf<C>(), sh, MinF()); break;
        default: v = row_logsumexp(row, n, sh); break;
        }
        if (threadIdx.x == 0) ((S*)y)[r] = narrow<S>(v);
    }
}

template <typename S, typename C = S> __device__ void softmax(const S* x, S* y, i64 rows, i64 n, i64 log_)
{
    __shared__ C sh[ROW_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const S* xr = x + r * n;
        S* yr = y + r * n;
        C m = row_reduce(xr, n, neg_inf<C>(), sh, MaxF());
        if (m == neg_inf<C>())
        {
            for (i64 i = threadIdx.x; i < n; i += blockDim.x) yr[i] = narrow<S>(log_ ? neg_inf<C>() : (C)QNAN);
            continue;
        }
        C s = C(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) s += f_exp(widen(xr[i]) - m);
        s = block_reduce(s, sh, SumF());
        if (log_)
        {
            C ls = log(s);
            for (i64 i = threadIdx.x; i < n; i += blockDim.x) yr[i] = narrow<S>((widen(xr[i]) - m) - ls);
        }
        else
        {
            C inv = C(1) / s;
            for (i64 i = threadIdx.x; i < n; i += blockDim.x) yr[i] = narrow<S>(f_exp(widen(xr[i]) - m) * inv);
        }
    }
}

template <typename S, typename C = S> __device__ void softmax_bwd(const S* y, const S* dy, S* dx, i64 rows, i64 n, i64 log_)
{
    __shared__ C sh[ROW_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const S* yr = y + r * n;
        const S* gr = dy + r * n;
        S* dr = dx + r * n;
        C s = C(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) s += log_ ? widen(gr[i]) : widen(gr[i]) * widen(yr[i]);
        s = block_reduce(s, sh, SumF());
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
        {
            C g = widen(gr[i]), yi = widen(yr[i]);
            dr[i] = narrow<S>(log_ ? g - f_exp(yi) * s : (g - s) * yi);
        }
    }
}

// One thread per row, sequential in double (running-max form for log-cum-sum-exp; never overflows).
template <typename S, typename C = S> __device__ void cumulative(const S* x, S* y, i64 rows, i64 n, i64 lse)
{
    for (i64 r = blockIdx.x * (i64)blockDim.x + threadIdx.x; r < rows; r += (i64)gridDim.x * blockDim.x)
    {
        const S* xr = x + r * n;
        S* yr = y + r * n;
        if (!lse)
        {
            double acc = 0;
            for (i64 i = 0; i < n; i++) { acc += (double)widen(xr[i]); yr[i] = narrow<S>((C)acc); }
            continue;
        }
        double m = -(double)POS_INF, s = 0;
        for (i64 i = 0; i < n; i++)
        {
            double v = (double)widen(xr[i]);
            if (v == -(double)POS_INF) { }
            else if (v > m) { s = s * exp(m - v) + 1.0; m = v; }
            else s += exp(v - m);
            yr[i] = narrow<S>((C)(m == -(double)POS_INF ? m : m + log(s)));
        }
    }
}

// Loss and logsumexp per row; a target outside [0, n) that is not ignore_index records the lowest
// such row in *bad_row (host checks) and gives NaN.
template <typename S, typename C = S> __device__ void cross_entropy(const S* logits, const i64* targets, i64 rows, i64 n, i64 ignore, S* loss, C* lse, u64* bad_row)
{
    __shared__ C sh[ROW_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const S* xr = logits + r * n;
        C l = row_logsumexp(xr, n, sh);
        if (threadIdx.x != 0) continue;
        lse[r] = l;
        i64 t = targets[r];
        if (t == ignore) loss[r] = narrow<S>(C(0));
        else if (t < 0 || t >= n) { loss[r] = narrow<S>((C)QNAN); atomicMin(bad_row, (u64)r); }
        else loss[r] = narrow<S>(l - widen(xr[t]));
    }
}

template <typename S, typename C = S> __device__ void cross_entropy_bwd(const S* logits, const i64* targets, i64 rows, i64 n, i64 ignore, const C* lse, const S* dloss, S* dlogits)
{
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const S* xr = logits + r * n;
        S* dr = dlogits + r * n;
        i64 t = targets[r];
        if (t == ignore)
        {
            for (i64 i = threadIdx.x; i < n; i += blockDim.x) dr[i] = narrow<S>(C(0));
            continue;
        }
        C g = widen(dloss[r]), l = lse[r];
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
            dr[i] = narrow<S>(f_exp(widen(xr[i]) - l) * g - (i == t ? g : C(0)));
    }
}

#define ROWS(SN, S, C) \
    extern "C" __global__ void reduce_##SN(const S* x, void* y, i64 rows, i64 n, i64 op) { reduce<S, C>(x, y, rows, n, op); } \
    extern "C" __global__ void softmax_##SN(const S* x, S* y, i64 rows, i64 n, i64 log_) { softmax<S, C>(x, y, rows, n, log_); } \
    extern "C" __global__ void softmax_bwd_##SN(const S* y, const S* dy, S* dx, i64 rows, i64 n, i64 log_) { softmax_bwd<S, C>(y, dy, dx, rows, n, log_); } \
    extern "C" __global__ void cumulative_##SN(const S* x, S* y, i64 rows, i64 n, i64 lse) { cumulative<S, C>(x, y, rows, n, lse); } \
    extern "C" __global__ void cross_entropy_##SN(const S* logits, const i64* targets, i64 rows, i64 n, i64 ignore, S* loss, C* lse, u64* bad) \
    { cross_entropy<S, C>(logits, targets, rows, n, ignore, loss, lse, bad); } \
    extern "C" __global__ void cross_entropy_bwd_##SN(const S* logits, const i64* targets, i64 rows, i64 n, i64 ignore, const C* lse, const S* dloss, S* dlogits) \
    { cross_entropy_bwd<S, C>(logits, targets, rows, n, ignore, lse, dloss, dlogits); }

ROWS(f32, float, float)
ROWS(f64, double, double)
ROWS(bf16, bf16, float)
