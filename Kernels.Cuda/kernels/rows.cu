// Kernels over the rows of a contiguous [rows, n] view: reductions (sum, mean, max, min, argmax,
// argmin, logsumexp), softmax / log-softmax forward and backward, cumulative sum and running-max
// log-cum-sum-exp, cross-entropy forward and backward. One block of ROW_BLOCK threads per row
// (grid-stride over rows) unless stated.
typedef long long i64;
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

template <typename T, typename F> __device__ T row_reduce(const T* x, i64 n, T init, T* sh, F f)
{
    T acc = init;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) acc = f(acc, x[i]);
    return block_reduce(acc, sh, f);
}

// Row maximum, then log Σ exp(x − max); −∞ or NaN rows give the maximum itself.
template <typename T> __device__ T row_logsumexp(const T* x, i64 n, T* sh)
{
    T m = row_reduce(x, n, neg_inf<T>(), sh, MaxF());
    if (is_nan(m) || m == neg_inf<T>()) return m;
    T s = T(0);
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) s += f_exp(x[i] - m);
    s = block_reduce(s, sh, SumF());
    return m + log(s);
}

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_ARGMAX, R_ARGMIN, R_LSE };

// First index of the extreme value; a NaN counts as the extreme (as TensorPrimitives.IndexOfMax).
template <typename T> __device__ void arg_reduce(const T* x, i64 n, bool isMax, i64* out, T* shv, i64* shi)
{
    T best = T(0);
    i64 bi = -1;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x)
    {
        T v = x[i];
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
            T a = shv[threadIdx.x], b = shv[threadIdx.x + s];
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

template <typename T> __device__ void reduce(const T* x, void* y, i64 rows, i64 n, i64 op)
{
    __shared__ T sh[ROW_BLOCK];
    __shared__ i64 shi[ROW_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* row = x + r * n;
        if (op == R_ARGMAX || op == R_ARGMIN) { arg_reduce(row, n, op == R_ARGMAX, (i64*)y + r, sh, shi); continue; }
        T v;
        switch (op)
        {
        case R_SUM: v = row_reduce(row, n, T(0), sh, SumF()); break;
        case R_MEAN: v = n == 0 ? (T)QNAN : row_reduce(row, n, T(0), sh, SumF()) / (T)n; break;
        case R_MAX: v = n == 0 ? (T)QNAN : row_reduce(row, n, neg_inf<T>(), sh, MaxF()); break;
        case R_MIN: v = n == 0 ? (T)QNAN : row_reduce(row, n, -neg_inf<T>(), sh, MinF()); break;
        default: v = row_logsumexp(row, n, sh); break;
        }
        if (threadIdx.x == 0) ((T*)y)[r] = v;
    }
}

template <typename T> __device__ void softmax(const T* x, T* y, i64 rows, i64 n, i64 log_)
{
    __shared__ T sh[ROW_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* xr = x + r * n;
        T* yr = y + r * n;
        T m = row_reduce(xr, n, neg_inf<T>(), sh, MaxF());
        if (m == neg_inf<T>())
        {
            for (i64 i = threadIdx.x; i < n; i += blockDim.x) yr[i] = log_ ? neg_inf<T>() : (T)QNAN;
            continue;
        }
        T s = T(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) s += f_exp(xr[i] - m);
        s = block_reduce(s, sh, SumF());
        if (log_)
        {
            T ls = log(s);
            for (i64 i = threadIdx.x; i < n; i += blockDim.x) yr[i] = (xr[i] - m) - ls;
        }
        else
        {
            T inv = T(1) / s;
            for (i64 i = threadIdx.x; i < n; i += blockDim.x) yr[i] = f_exp(xr[i] - m) * inv;
        }
    }
}

template <typename T> __device__ void softmax_bwd(const T* y, const T* dy, T* dx, i64 rows, i64 n, i64 log_)
{
    __shared__ T sh[ROW_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* yr = y + r * n;
        const T* gr = dy + r * n;
        T* dr = dx + r * n;
        T s = T(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) s += log_ ? gr[i] : gr[i] * yr[i];
        s = block_reduce(s, sh, SumF());
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
            dr[i] = log_ ? gr[i] - f_exp(yr[i]) * s : (gr[i] - s) * yr[i];
    }
}

// One thread per row, sequential in double (running-max form for log-cum-sum-exp; never overflows).
template <typename T> __device__ void cumulative(const T* x, T* y, i64 rows, i64 n, i64 lse)
{
    for (i64 r = blockIdx.x * (i64)blockDim.x + threadIdx.x; r < rows; r += (i64)gridDim.x * blockDim.x)
    {
        const T* xr = x + r * n;
        T* yr = y + r * n;
        if (!lse)
        {
            double acc = 0;
            for (i64 i = 0; i < n; i++) { acc += (double)xr[i]; yr[i] = (T)acc; }
            continue;
        }
        double m = -(double)POS_INF, s = 0;
        for (i64 i = 0; i < n; i++)
        {
            double v = (double)xr[i];
            if (v == -(double)POS_INF) { }
            else if (v > m) { s = s * exp(m - v) + 1.0; m = v; }
            else s += exp(v - m);
            yr[i] = (T)(m == -(double)POS_INF ? m : m + log(s));
        }
    }
}

// Loss and logsumexp per row; a target outside [0, n) that is not ignore_index records the lowest
// such row in *bad_row (host checks) and gives NaN.
template <typename T> __device__ void cross_entropy(const T* logits, const i64* targets, i64 rows, i64 n, i64 ignore, T* loss, T* lse, u64* bad_row)
{
    __shared__ T sh[ROW_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* xr = logits + r * n;
        T l = row_logsumexp(xr, n, sh);
        if (threadIdx.x != 0) continue;
        lse[r] = l;
        i64 t = targets[r];
        if (t == ignore) loss[r] = T(0);
        else if (t < 0 || t >= n) { loss[r] = (T)QNAN; atomicMin(bad_row, (u64)r); }
        else loss[r] = l - xr[t];
    }
}

template <typename T> __device__ void cross_entropy_bwd(const T* logits, const i64* targets, i64 rows, i64 n, i64 ignore, const T* lse, const T* dloss, T* dlogits)
{
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* xr = logits + r * n;
        T* dr = dlogits + r * n;
        i64 t = targets[r];
        if (t == ignore)
        {
            for (i64 i = threadIdx.x; i < n; i += blockDim.x) dr[i] = T(0);
            continue;
        }
        T g = dloss[r], l = lse[r];
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
            dr[i] = f_exp(xr[i] - l) * g - (i == t ? g : T(0));
    }
}

#define ROWS(SN, T) \
    extern "C" __global__ void reduce_##SN(const T* x, void* y, i64 rows, i64 n, i64 op) { reduce(x, y, rows, n, op); } \
    extern "C" __global__ void softmax_##SN(const T* x, T* y, i64 rows, i64 n, i64 log_) { softmax(x, y, rows, n, log_); } \
    extern "C" __global__ void softmax_bwd_##SN(const T* y, const T* dy, T* dx, i64 rows, i64 n, i64 log_) { softmax_bwd(y, dy, dx, rows, n, log_); } \
    extern "C" __global__ void cumulative_##SN(const T* x, T* y, i64 rows, i64 n, i64 lse) { cumulative(x, y, rows, n, lse); } \
    extern "C" __global__ void cross_entropy_##SN(const T* logits, const i64* targets, i64 rows, i64 n, i64 ignore, T* loss, T* lse, u64* bad) \
    { cross_entropy(logits, targets, rows, n, ignore, loss, lse, bad); } \
    extern "C" __global__ void cross_entropy_bwd_##SN(const T* logits, const i64* targets, i64 rows, i64 n, i64 ignore, const T* lse, const T* dloss, T* dlogits) \
    { cross_entropy_bwd(logits, targets, rows, n, ignore, lse, dloss, dlogits); }

ROWS(f32, float)
ROWS(f64, double)
