// RMSNorm and LayerNorm over the rows of a contiguous [rows, n] view, forward and backward, and LightNet's output
// gate RMSNorm(x)·w·SiLU(u) fused into one row pass.
// Row statistics: one block of NORM_BLOCK threads per row. Weight/bias gradients: per-chunk column
// partial sums (norm_dw_partial) followed by a fixed-order sum over chunks (colsum), so results are
// deterministic.
typedef long long i64;

#define NORM_BLOCK 256

template <typename T> __device__ T block_sum(T v, T* sh)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1)
    {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    T r = sh[0];
    __syncthreads();
    return r;
}

// 1 / sqrt(mean(x²) + eps) of one row (the whole block), also stored in *rstd.
template <typename T> __device__ T row_rstd(const T* xr, i64 n, double eps, T* sh, T* rstd)
{
    T ss = T(0);
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum(ss, sh);
    T rs = (T)(1.0 / sqrt((double)ss / (double)n + eps));
    if (threadIdx.x == 0) *rstd = rs;
    return rs;
}

template <typename T> __device__ void rmsnorm(const T* x, const T* w, double eps, T* y, T* rstd, i64 rows, i64 n)
{
    __shared__ T sh[NORM_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* xr = x + r * n;
        T* yr = y + r * n;
        T rs = row_rstd(xr, n, eps, sh, rstd + r);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) yr[i] = w ? xr[i] * rs * w[i] : xr[i] * rs;
    }
}

// dx = rs·g − x·rs³·mean(x·g) with g = dy·w.
template <typename T> __device__ void rmsnorm_bwd(const T* x, const T* w, const T* rstd, const T* dy, T* dx, i64 rows, i64 n)
{
    __shared__ T sh[NORM_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* xr = x + r * n;
        const T* gr = dy + r * n;
        T* dr = dx + r * n;
        T rs = rstd[r];
        T dot = T(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) dot += xr[i] * (w ? gr[i] * w[i] : gr[i]);
        dot = block_sum(dot, sh) / (T)n;
        T c = -dot * rs * rs * rs;
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) dr[i] = (w ? gr[i] * w[i] : gr[i]) * rs + xr[i] * c;
    }
}

template <typename T> __device__ void layernorm(const T* x, const T* w, const T* b, double eps, T* y, T* mean, T* rstd, i64 rows, i64 n)
{
    __shared__ T sh[NORM_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* xr = x + r * n;
        T* yr = y + r * n;
        T s = T(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) s += xr[i];
        T mu = block_sum(s, sh) / (T)n;
        T v = T(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) { T d = xr[i] - mu; v += d * d; }
        v = block_sum(v, sh);
        T rs = (T)(1.0 / sqrt((double)v / (double)n + eps));
        if (threadIdx.x == 0) { mean[r] = mu; rstd[r] = rs; }
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
        {
            T h = (xr[i] - mu) * rs;
            if (w) h *= w[i];
            if (b) h += b[i];
            yr[i] = h;
        }
    }
}

template <typename T> __device__ __forceinline__ T sigm(T v) { return T(1) / (T(1) + exp(-v)); }

// y = x·rs·w·SiLU(u) per row.
template <typename T> __device__ void rmsnorm_gate(const T* x, const T* w, const T* u, double eps, T* y, T* rstd, i64 rows, i64 n)
{
    __shared__ T sh[NORM_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* xr = x + r * n;
        const T* ur = u + r * n;
        T* yr = y + r * n;
        T rs = row_rstd(xr, n, eps, sh, rstd + r);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) yr[i] = xr[i] * rs * w[i] * (ur[i] * sigm(ur[i]));
    }
}

// With s = SiLU(u), ga = dy·s: du = dy·(x·rs·w)·SiLU'(u), dx = rs·g − x·rs³·mean(x·g) for g = ga·w; ga is written
// out for the weight gradient (Σ_rows ga·x̂, by norm_dw_partial).
template <typename T> __device__ void rmsnorm_gate_bwd(const T* x, const T* w, const T* u, const T* rstd, const T* dy, T* dx, T* du, T* ga, i64 rows, i64 n)
{
    __shared__ T sh[NORM_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* xr = x + r * n;
        const T* ur = u + r * n;
        const T* gr = dy + r * n;
        T rs = rstd[r];
        T dot = T(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
        {
            T sg = sigm(ur[i]);
            T gai = gr[i] * (ur[i] * sg);
            ga[r * n + i] = gai;
            du[r * n + i] = gr[i] * (xr[i] * rs * w[i]) * sg * (T(1) + ur[i] * (T(1) - sg));
            dot += xr[i] * (gai * w[i]);
        }
        dot = block_sum(dot, sh) / (T)n;
        T c = -dot * rs * rs * rs;
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) dx[r * n + i] = ga[r * n + i] * w[i] * rs + xr[i] * c;
    }
}

// dx = rs·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w, x̂ = (x − mean)·rs.
template <typename T> __device__ void layernorm_bwd(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx, i64 rows, i64 n)
{
    __shared__ T sh[NORM_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const T* xr = x + r * n;
        const T* gr = dy + r * n;
        T* dr = dx + r * n;
        T rs = rstd[r], mu = mean[r];
        T sg = T(0), sgx = T(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
        {
            T g = w ? gr[i] * w[i] : gr[i];
            sg += g;
            sgx += g * (xr[i] - mu) * rs;
        }
        T mg = block_sum(sg, sh) / (T)n;
        T mgx = block_sum(sgx, sh) / (T)n;
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
        {
            T g = w ? gr[i] * w[i] : gr[i];
            dr[i] = rs * (g - mg - (xr[i] - mu) * rs * mgx);
        }
    }
}

// partial_dw[c, i] = Σ_{r in chunk c} dy[r, i]·x̂[r, i], partial_db[c, i] = Σ dy[r, i] (db may be null).
// x̂ = x·rstd (mean == null: RMSNorm) or (x − mean)·rstd. Grid: (ceil(n / blockDim), chunks).
template <typename T> __device__ void norm_dw_partial(const T* x, const T* mean, const T* rstd, const T* dy, T* pdw, T* pdb, i64 rows, i64 n, i64 rows_per_chunk)
{
    i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    i64 c = blockIdx.y;
    if (i >= n) return;
    i64 r0 = c * rows_per_chunk, r1 = min(rows, r0 + rows_per_chunk);
    T sw = T(0), sb = T(0);
    for (i64 r = r0; r < r1; r++)
    {
        T g = dy[r * n + i];
        T xh = (mean ? x[r * n + i] - mean[r] : x[r * n + i]) * rstd[r];
        sw += g * xh;
        sb += g;
    }
    if (pdw) pdw[c * n + i] = sw;
    if (pdb) pdb[c * n + i] = sb;
}

template <typename T> __device__ void colsum(const T* partial, T* out, i64 chunks, i64 n)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        T s = T(0);
        for (i64 c = 0; c < chunks; c++) s += partial[c * n + i];
        out[i] = s;
    }
}

#define NORMS(SN, T) \
    extern "C" __global__ void rmsnorm_##SN(const T* x, const T* w, double eps, T* y, T* rstd, i64 rows, i64 n) { rmsnorm(x, w, eps, y, rstd, rows, n); } \
    extern "C" __global__ void rmsnorm_bwd_##SN(const T* x, const T* w, const T* rstd, const T* dy, T* dx, i64 rows, i64 n) { rmsnorm_bwd(x, w, rstd, dy, dx, rows, n); } \
    extern "C" __global__ void layernorm_##SN(const T* x, const T* w, const T* b, double eps, T* y, T* mean, T* rstd, i64 rows, i64 n) \
    { layernorm(x, w, b, eps, y, mean, rstd, rows, n); } \
    extern "C" __global__ void layernorm_bwd_##SN(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx, i64 rows, i64 n) \
    { layernorm_bwd(x, w, mean, rstd, dy, dx, rows, n); } \
    extern "C" __global__ void norm_dw_partial_##SN(const T* x, const T* mean, const T* rstd, const T* dy, T* pdw, T* pdb, i64 rows, i64 n, i64 rpc) \
    { norm_dw_partial(x, mean, rstd, dy, pdw, pdb, rows, n, rpc); } \
    extern "C" __global__ void colsum_##SN(const T* partial, T* out, i64 chunks, i64 n) { colsum(partial, out, chunks, n); } \
    extern "C" __global__ void rmsnorm_gate_##SN(const T* x, const T* w, const T* u, double eps, T* y, T* rstd, i64 rows, i64 n) \
    { rmsnorm_gate(x, w, u, eps, y, rstd, rows, n); } \
    extern "C" __global__ void rmsnorm_gate_bwd_##SN(const T* x, const T* w, const T* u, const T* rstd, const T* dy, T* dx, T* du, T* ga, i64 rows, i64 n) \
    { rmsnorm_gate_bwd(x, w, u, rstd, dy, dx, du, ga, rows, n); }

NORMS(f32, float)
NORMS(f64, double)
