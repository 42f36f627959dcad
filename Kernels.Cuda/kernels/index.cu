// Index kernels on [outer, n, inner] views: index_select / gather (raw element copies of 2, 4 or 8
// bytes) and their adjoints index_add / scatter_add (float32, float64). The adjoints give each output
// column (o, i) to one thread that adds in index order, so results are deterministic. An index outside
// [0, n) is skipped and the lowest flat position of such an index is recorded in *bad (host checks).
// index_add_tiled spreads the adjoint over tiles of output rows for wide rows (same order, same results).
typedef long long i64;
typedef unsigned long long u64;

__device__ __forceinline__ bool valid(i64 k, i64 n, i64 pos, u64* bad)
{
    if (k >= 0 && k < n) return true;
    atomicMin(bad, (u64)pos);
    return false;
}

// y[o, j, i] = x[o, idx[j], i]
template <typename E> __device__ void index_select(const E* x, const i64* idx, E* y, i64 outer, i64 n, i64 m, i64 inner, u64* bad)
{
    i64 total = outer * m * inner;
    for (i64 q = blockIdx.x * (i64)blockDim.x + threadIdx.x; q < total; q += (i64)gridDim.x * blockDim.x)
    {
        i64 i = q % inner, t = q / inner, j = t % m, o = t / m;
        i64 k = idx[j];
        if (valid(k, n, j, bad)) y[q] = x[(o * n + k) * inner + i];
    }
}

// y[o, j, i] = x[o, idx[o, j, i], i]
template <typename E> __device__ void gather(const E* x, const i64* idx, E* y, i64 outer, i64 n, i64 m, i64 inner, u64* bad)
{
    i64 total = outer * m * inner;
    for (i64 q = blockIdx.x * (i64)blockDim.x + threadIdx.x; q < total; q += (i64)gridDim.x * blockDim.x)
    {
        i64 i = q % inner, o = q / inner / m;
        i64 k = idx[q];
        if (valid(k, n, q, bad)) y[q] = x[(o * n + k) * inner + i];
    }
}

// y[o, idx[j], i] += src[o, j, i]
template <typename T> __device__ void index_add(T* y, const i64* idx, const T* src, i64 outer, i64 n, i64 m, i64 inner, u64* bad)
{
    i64 cols = outer * inner;
    for (i64 q = blockIdx.x * (i64)blockDim.x + threadIdx.x; q < cols; q += (i64)gridDim.x * blockDim.x)
    {
        i64 i = q % inner, o = q / inner;
        for (i64 j = 0; j < m; j++)
        {
            i64 k = idx[j];
            if (valid(k, n, j, bad)) y[(o * n + k) * inner + i] += src[(o * m + j) * inner + i];
        }
    }
}

// index_add for wide rows (embedding backward: m token rows into an n-row table). Block (column tile, tile of
// INDEX_ADD_ROWS table rows, o) reads the whole index through shared memory and adds each source row whose index
// falls in its tile, in index order: every element sees the same additions in the same order as index_add (bitwise
// equal), but n/INDEX_ADD_ROWS × inner/blockDim blocks work at once instead of inner threads. Block (0, 0, 0)
// records bad indices. Needs blockDim.x == INDEX_ADD_SLICE.
#define INDEX_ADD_ROWS 512
#define INDEX_ADD_SLICE 256
template <typename T> __device__ void index_add_tiled(T* y, const i64* idx, const T* src, i64 n, i64 m, i64 inner, u64* bad)
{
    __shared__ i64 slice[INDEX_ADD_SLICE];
    const i64 col = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    const i64 r0 = blockIdx.y * (i64)INDEX_ADD_ROWS;
    const i64 o = blockIdx.z;
    const bool recorder = blockIdx.x == 0 && blockIdx.y == 0 && blockIdx.z == 0 && threadIdx.x == 0;
    for (i64 j0 = 0; j0 < m; j0 += INDEX_ADD_SLICE)
    {
        __syncthreads();
        if (j0 + threadIdx.x < m) slice[threadIdx.x] = idx[j0 + threadIdx.x];
        __syncthreads();
        const i64 jn = m - j0 < INDEX_ADD_SLICE ? m - j0 : INDEX_ADD_SLICE;
        for (i64 jj = 0; jj < jn; jj++)
        {
            const i64 k = slice[jj];
            if ((u64)(k - r0) < (u64)INDEX_ADD_ROWS && k < n)
            {
                if (col < inner) y[(o * n + k) * inner + col] += src[(o * m + j0 + jj) * inner + col];
            }
            else if (recorder && (k < 0 || k >= n)) atomicMin(bad, (u64)(j0 + jj));
        }
    }
}

// y[o, idx[o, j, i], i] += src[o, j, i]
template <typename T> __device__ void scatter_add(T* y, const i64* idx, const T* src, i64 outer, i64 n, i64 m, i64 inner, u64* bad)
{
    i64 cols = outer * inner;
    for (i64 q = blockIdx.x * (i64)blockDim.x + threadIdx.x; q < cols; q += (i64)gridDim.x * blockDim.x)
    {
        i64 i = q % inner, o = q / inner;
        for (i64 j = 0; j < m; j++)
        {
            i64 p = (o * m + j) * inner + i;
            i64 k = idx[p];
            if (valid(k, n, p, bad)) y[(o * n + k) * inner + i] += src[p];
        }
    }
}

#define SELECT(SN, E) \
    extern "C" __global__ void index_select_##SN(const E* x, const i64* idx, E* y, i64 outer, i64 n, i64 m, i64 inner, u64* bad) \
    { index_select(x, idx, y, outer, n, m, inner, bad); } \
    extern "C" __global__ void gather_##SN(const E* x, const i64* idx, E* y, i64 outer, i64 n, i64 m, i64 inner, u64* bad) \
    { gather(x, idx, y, outer, n, m, inner, bad); }
#define ADD(SN, T) \
    extern "C" __global__ void index_add_##SN(T* y, const i64* idx, const T* src, i64 outer, i64 n, i64 m, i64 inner, u64* bad) \
    { index_add(y, idx, src, outer, n, m, inner, bad); } \
    extern "C" __global__ void index_add_tiled_##SN(T* y, const i64* idx, const T* src, i64 n, i64 m, i64 inner, u64* bad) \
    { index_add_tiled(y, idx, src, n, m, inner, bad); } \
    extern "C" __global__ void scatter_add_##SN(T* y, const i64* idx, const T* src, i64 outer, i64 n, i64 m, i64 inner, u64* bad) \
    { scatter_add(y, idx, src, outer, n, m, inner, bad); }

SELECT(b2, unsigned short)
SELECT(b4, unsigned int)
SELECT(b8, u64)
ADD(f32, float)
ADD(f64, double)
