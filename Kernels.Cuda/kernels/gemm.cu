// Fallback matrix product for when cuBLAS is absent: c[b] (+)= a[b]·b[b] with a [batch, m, k],
// b [batch, k, n], c [batch, m, n], every operand with arbitrary element strides (0 allowed for a
// broadcast batch). Tiles of TM×TN outputs per block of 256 threads (4×4 per thread), k in steps of
// TK through shared memory. Accumulation in the element type, in a fixed k order.
typedef long long i64;

#define TM 64
#define TN 64
#define TK 16

struct MatDesc
{
    i64 batch, m, n, k;
    i64 sa0, sa1, sa2;
    i64 sb0, sb1, sb2;
    i64 sc0, sc1, sc2;
    i64 accumulate;
};

template <typename T> __device__ void gemm(MatDesc d, const T* a, const T* b, T* c)
{
    __shared__ T as[TK][TM + 1];
    __shared__ T bs[TK][TN + 1];
    int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    i64 row0 = blockIdx.y * (i64)TM, col0 = blockIdx.x * (i64)TN;
    i64 z = blockIdx.z;
    const T* ab = a + z * d.sa0;
    const T* bb = b + z * d.sb0;
    T acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = T(0);
    for (i64 k0 = 0; k0 < d.k; k0 += TK)
    {
        for (int e = threadIdx.x; e < TK * TM; e += blockDim.x)
        {
            int kk = e / TM, ii = e % TM;
            i64 r = row0 + ii, kc = k0 + kk;
            as[kk][ii] = (r < d.m && kc < d.k) ? ab[r * d.sa1 + kc * d.sa2] : T(0);
        }
        for (int e = threadIdx.x; e < TK * TN; e += blockDim.x)
        {
            int kk = e / TN, jj = e % TN;
            i64 cc = col0 + jj, kr = k0 + kk;
            bs[kk][jj] = (cc < d.n && kr < d.k) ? bb[kr * d.sb1 + cc * d.sb2] : T(0);
        }
        __syncthreads();
        for (int kk = 0; kk < TK; kk++)
        {
            T av[4], bv[4];
            for (int i = 0; i < 4; i++) av[i] = as[kk][ty + 16 * i];
            for (int j = 0; j < 4; j++) bv[j] = bs[kk][tx + 16 * j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) acc[i][j] += av[i] * bv[j];
        }
        __syncthreads();
    }
    T* cb = c + z * d.sc0;
    for (int i = 0; i < 4; i++)
    {
        i64 r = row0 + ty + 16 * i;
        if (r >= d.m) continue;
        for (int j = 0; j < 4; j++)
        {
            i64 cc = col0 + tx + 16 * j;
            if (cc >= d.n) continue;
            T* p = cb + r * d.sc1 + cc * d.sc2;
            *p = d.accumulate ? *p + acc[i][j] : acc[i][j];
        }
    }
}

extern "C" __global__ void gemm_f32(MatDesc d, const float* a, const float* b, float* c) { gemm(d, a, b, c); }
extern "C" __global__ void gemm_f64(MatDesc d, const double* a, const double* b, double* c) { gemm(d, a, b, c); }
