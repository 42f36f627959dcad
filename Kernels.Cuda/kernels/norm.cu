// RMSNorm and LayerNorm over the rows of a contiguous [rows, n] view, forward and backward, and LightNet's output
// gate RMSNorm(x)·w·SiLU(u) fused into one row pass.
// Row statistics: one block per row (RMSNorm rows that fit are held in registers, see the register path). Weight/bias
// gradients: per-chunk column partial sums (norm_dw_partial) followed by a fixed-order sum over chunks (colsum), so results are
// deterministic. Storage S (float, double, bfloat16; x, weights, gradients and row statistics alike) with compute C
// (S itself; float for bfloat16): row sums and the weight-gradient partial sums are taken in C.
#include "common.cuh"

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

// Register path: a row whose n is a whole number of 16-byte vectors, at most one per thread of the block (the host
// launches up to 1024 threads for such rows), with every pointer 16-byte aligned, is read once into registers, one
// vector per thread, with 16-byte loads and stores. Other rows take the loops over NORM_BLOCK threads.

// True when a row of n values fits the register path and every pointer (null counts as aligned) is 16-byte aligned.
template <typename S> __device__ __forceinline__ bool in_registers(i64 n, const void* a, const void* b, const void* c, const void* d, const void* e = 0,
    const void* f = 0, const void* g = 0)
{
    const int N = Vec<S>::N;
    return n % N == 0 && n <= (i64)blockDim.x * N && aligned16(a) && aligned16(b) && aligned16(c) && aligned16(d) && aligned16(e) && aligned16(f)
        && aligned16(g);
}

// Sum over the block for the register path: a butterfly within each warp, then the warp totals in warp order (every
// thread gets the same value; fixed order, so deterministic).
template <typename T> __device__ T block_sum_warps(T v, T* sh)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
    __syncthreads();
    T r = sh[0];
    for (int k = 1; k < (int)(blockDim.x >> 5); k++) r += sh[k];
    __syncthreads();
    return r;
}

// Loads this thread's vector of row xr (vector threadIdx.x, when the row has one) into c and returns its Σ x².
template <typename S, typename C> __device__ __forceinline__ C load_row_squares(const S* xr, i64 nv, Vec<S>& c)
{
    C ss = C(0);
    if (threadIdx.x >= nv) return ss;
    c = ((const Vec<S>*)xr)[threadIdx.x];
#pragma unroll
    for (int e = 0; e < Vec<S>::N; e++) { C v = widen(c.s[e]); ss += v * v; }
    return ss;
}

// 1 / sqrt(mean(x²) + eps) of one row (the whole block), also stored in *rstd.
template <typename S, typename C> __device__ C row_rstd(const S* xr, i64 n, double eps, C* sh, S* rstd)
{
    C ss = C(0);
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) { C v = widen(xr[i]); ss += v * v; }
    ss = block_sum(ss, sh);
    C rs = (C)(1.0 / sqrt((double)ss / (double)n + eps));
    if (threadIdx.x == 0) *rstd = narrow<S>(rs);
    return rs;
}

template <typename T> __device__ __forceinline__ T sigm(T v) { return T(1) / (T(1) + exp(-v)); }

// y = x·rs·w·SiLU(u) per row; w and the gate u may be null (factor 1).
template <typename S, typename C> __device__ __forceinline__ S rms_out(S x, C rs, const S* w, const S* u, S wv, S uv)
{
    C h = widen(x) * rs;
    if (w) h *= widen(wv);
    if (u) h *= widen(uv) * sigm(widen(uv));
    return narrow<S>(h);
}

template <typename S, typename C = S> __device__ void rmsnorm(const S* x, const S* w, const S* u, double eps, S* y, S* rstd, i64 rows, i64 n)
{
    __shared__ C sh[NORM_BLOCK];
    if (in_registers<S>(n, x, w, u, y))
    {
        const int N = Vec<S>::N;
        i64 nv = n / N, j = threadIdx.x;
        for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
        {
            Vec<S> xc;
            C rs = (C)(1.0 / sqrt((double)block_sum_warps(load_row_squares<S, C>(x + r * n, nv, xc), sh) / (double)n + eps));
            if (threadIdx.x == 0) rstd[r] = narrow<S>(rs);
            if (j < nv)
            {
                Vec<S> o, wv, uv;
                if (w) wv = ((const Vec<S>*)w)[j];
                if (u) uv = ((const Vec<S>*)(u + r * n))[j];
#pragma unroll
                for (int e = 0; e < N; e++) o.s[e] = rms_out(xc.s[e], rs, w, u, wv.s[e], uv.s[e]);
                ((Vec<S>*)(y + r * n))[j] = o;
            }
        }
        return;
    }
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const S* xr = x + r * n;
        S* yr = y + r * n;
        C rs = row_rstd(xr, n, eps, sh, rstd + r);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) yr[i] = rms_out(xr[i], rs, w, u, w ? w[i] : S(0), u ? u[r * n + i] : S(0));
    }
}

// One element of the RMSNorm backward before the row's dot: ga = dy·SiLU(u) (dy itself without the gate u) into gas, in
// storage precision; with u also du = dy·(x·rs·w)·SiLU'(u) into dus. Returns the element's term x·g of the dot, g = ga·w.
template <typename S, typename C> __device__ __forceinline__ C rms_grad_in(S xs, S ws, S us, S dys, C rs, const S* w, const S* u, S& gas, S& dus)
{
    C xi = widen(xs), gi = widen(dys), g = gi;
    if (u)
    {
        C ui = widen(us), sg = sigm(ui);
        g = gi * (ui * sg);
        gas = narrow<S>(g);
        dus = narrow<S>(gi * (xi * rs * (w ? widen(ws) : C(1))) * sg * (C(1) + ui * (C(1) - sg)));
    }
    else gas = dys;
    return xi * (w ? g * widen(ws) : g);
}

// dx of one element: rs·g + x·c with g = ga·w (ga as stored) and c = −rs³·mean(x·g).
template <typename S, typename C> __device__ __forceinline__ S rms_grad_out(S xs, S ws, S gas, C rs, C c, const S* w)
{
    C g = widen(gas);
    return narrow<S>((w ? g * widen(ws) : g) * rs + widen(xs) * c);
}

// dx = rs·g − x·rs³·mean(x·g) with g = ga·w, ga = dy·SiLU(u) (dy without the gate u). With u, du is written, and ga is
// written out for the weight gradient (Σ_rows ga·x̂, by norm_dw_partial) and used for dx as stored.
template <typename S, typename C = S> __device__ void rmsnorm_bwd(const S* x, const S* w, const S* u, const S* rstd, const S* dy, S* dx, S* du, S* ga,
    i64 rows, i64 n)
{
    __shared__ C sh[NORM_BLOCK];
    if (in_registers<S>(n, x, w, u, dy, dx, du, ga))
    {
        const int N = Vec<S>::N;
        i64 nv = n / N, j = threadIdx.x;
        for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
        {
            Vec<S> xc, gac, wv;
            C rs = widen(rstd[r]);
            C dot = C(0);
            if (j < nv)
            {
                xc = ((const Vec<S>*)(x + r * n))[j];
                Vec<S> uv, gv = ((const Vec<S>*)(dy + r * n))[j], duv;
                if (w) wv = ((const Vec<S>*)w)[j];
                if (u) uv = ((const Vec<S>*)(u + r * n))[j];
#pragma unroll
                for (int e = 0; e < N; e++) dot += rms_grad_in<S, C>(xc.s[e], wv.s[e], uv.s[e], gv.s[e], rs, w, u, gac.s[e], duv.s[e]);
                if (u)
                {
                    ((Vec<S>*)(ga + r * n))[j] = gac;
                    ((Vec<S>*)(du + r * n))[j] = duv;
                }
            }
            dot = block_sum_warps(dot, sh) / (C)n;
            C c = -dot * rs * rs * rs;
            if (j < nv)
            {
                Vec<S> o;
#pragma unroll
                for (int e = 0; e < N; e++) o.s[e] = rms_grad_out<S, C>(xc.s[e], wv.s[e], gac.s[e], rs, c, w);
                ((Vec<S>*)(dx + r * n))[j] = o;
            }
        }
        return;
    }
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const S* xr = x + r * n;
        const S* gr = dy + r * n;
        C rs = widen(rstd[r]);
        C dot = C(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
        {
            S gas, dus;
            dot += rms_grad_in<S, C>(xr[i], w ? w[i] : S(0), u ? u[r * n + i] : S(0), gr[i], rs, w, u, gas, dus);
            if (u) { ga[r * n + i] = gas; du[r * n + i] = dus; }
        }
        dot = block_sum(dot, sh) / (C)n;
        C c = -dot * rs * rs * rs;
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
            dx[r * n + i] = rms_grad_out<S, C>(xr[i], w ? w[i] : S(0), u ? ga[r * n + i] : gr[i], rs, c, w);
    }
}

template <typename S, typename C = S> __device__ void layernorm(const S* x, const S* w, const S* b, double eps, S* y, S* mean, S* rstd, i64 rows, i64 n)
{
    __shared__ C sh[NORM_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const S* xr = x + r * n;
        S* yr = y + r * n;
        C s = C(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) s += widen(xr[i]);
        C mu = block_sum(s, sh) / (C)n;
        C v = C(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x) { C d = widen(xr[i]) - mu; v += d * d; }
        v = block_sum(v, sh);
        C rs = (C)(1.0 / sqrt((double)v / (double)n + eps));
        if (threadIdx.x == 0) { mean[r] = narrow<S>(mu); rstd[r] = narrow<S>(rs); }
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
        {
            C h = (widen(xr[i]) - mu) * rs;
            if (w) h *= widen(w[i]);
            if (b) h += widen(b[i]);
            yr[i] = narrow<S>(h);
        }
    }
}

// dx = rs·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w, x̂ = (x − mean)·rs.
template <typename S, typename C = S> __device__ void layernorm_bwd(const S* x, const S* w, const S* mean, const S* rstd, const S* dy, S* dx, i64 rows, i64 n)
{
    __shared__ C sh[NORM_BLOCK];
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const S* xr = x + r * n;
        const S* gr = dy + r * n;
        S* dr = dx + r * n;
        C rs = widen(rstd[r]), mu = widen(mean[r]);
        C sg = C(0), sgx = C(0);
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
        {
            C g = w ? widen(gr[i]) * widen(w[i]) : widen(gr[i]);
            sg += g;
            sgx += g * (widen(xr[i]) - mu) * rs;
        }
        C mg = block_sum(sg, sh) / (C)n;
        C mgx = block_sum(sgx, sh) / (C)n;
        for (i64 i = threadIdx.x; i < n; i += blockDim.x)
        {
            C g = w ? widen(gr[i]) * widen(w[i]) : widen(gr[i]);
            dr[i] = narrow<S>(rs * (g - mg - (widen(xr[i]) - mu) * rs * mgx));
        }
    }
}

// partial_dw[c, i] = Σ_{r in chunk c} dy[r, i]·x̂[r, i], partial_db[c, i] = Σ dy[r, i] (db may be null).
// x̂ = x·rstd (mean == null: RMSNorm) or (x − mean)·rstd. Grid: (ceil(n / blockDim), chunks). Partials are in C.
template <typename S, typename C = S> __device__ void norm_dw_partial(const S* x, const S* mean, const S* rstd, const S* dy, C* pdw, C* pdb, i64 rows, i64 n, i64 rows_per_chunk)
{
    i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    i64 c = blockIdx.y;
    if (i >= n) return;
    i64 r0 = c * rows_per_chunk, r1 = min(rows, r0 + rows_per_chunk);
    C sw = C(0), sb = C(0);
    for (i64 r = r0; r < r1; r++)
    {
        C g = widen(dy[r * n + i]);
        C xh = (mean ? widen(x[r * n + i]) - widen(mean[r]) : widen(x[r * n + i])) * widen(rstd[r]);
        sw += g * xh;
        sb += g;
    }
    if (pdw) pdw[c * n + i] = sw;
    if (pdb) pdb[c * n + i] = sb;
}

// out[i] = Σ_c partial[c, i] in C, in chunk order, rounded to S once.
template <typename S, typename C = S> __device__ void colsum(const C* partial, S* out, i64 chunks, i64 n)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        C s = C(0);
        for (i64 c = 0; c < chunks; c++) s += partial[c * n + i];
        out[i] = narrow<S>(s);
    }
}

#define NORMS(SN, S, C) \
    extern "C" __global__ void rmsnorm_##SN(const S* x, const S* w, double eps, S* y, S* rstd, i64 rows, i64 n) \
    { rmsnorm<S, C>(x, w, (const S*)0, eps, y, rstd, rows, n); } \
    extern "C" __global__ void rmsnorm_bwd_##SN(const S* x, const S* w, const S* rstd, const S* dy, S* dx, i64 rows, i64 n) \
    { rmsnorm_bwd<S, C>(x, w, (const S*)0, rstd, dy, dx, (S*)0, (S*)0, rows, n); } \
    extern "C" __global__ void layernorm_##SN(const S* x, const S* w, const S* b, double eps, S* y, S* mean, S* rstd, i64 rows, i64 n) \
    { layernorm<S, C>(x, w, b, eps, y, mean, rstd, rows, n); } \
    extern "C" __global__ void layernorm_bwd_##SN(const S* x, const S* w, const S* mean, const S* rstd, const S* dy, S* dx, i64 rows, i64 n) \
    { layernorm_bwd<S, C>(x, w, mean, rstd, dy, dx, rows, n); } \
    extern "C" __global__ void norm_dw_partial_##SN(const S* x, const S* mean, const S* rstd, const S* dy, C* pdw, C* pdb, i64 rows, i64 n, i64 rpc) \
    { norm_dw_partial<S, C>(x, mean, rstd, dy, pdw, pdb, rows, n, rpc); } \
    extern "C" __global__ void colsum_##SN(const C* partial, S* out, i64 chunks, i64 n) { colsum<S, C>(partial, out, chunks, n); } \
    extern "C" __global__ void rmsnorm_gate_##SN(const S* x, const S* w, const S* u, double eps, S* y, S* rstd, i64 rows, i64 n) \
    { rmsnorm<S, C>(x, w, u, eps, y, rstd, rows, n); } \
    extern "C" __global__ void rmsnorm_gate_bwd_##SN(const S* x, const S* w, const S* u, const S* rstd, const S* dy, S* dx, S* du, S* ga, i64 rows, i64 n) \
    { rmsnorm_bwd<S, C>(x, w, u, rstd, dy, dx, du, ga, rows, n); }

NORMS(f32, float, float)
NORMS(f64, double, double)
NORMS(bf16, bf16, float)
