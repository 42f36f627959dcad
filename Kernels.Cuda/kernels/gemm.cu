// Fallback matrix products for when cuBLAS is absent: c[b] (+)= a[b]·b[b] with a [batch, m, k],
// b [batch, k, n], c [batch, m, n], every operand with arbitrary element strides (0 allowed for a
// broadcast batch).
//   gemm_f32 / gemm_f64   exact: tiles of TM×TN outputs per block of 256 threads (4×4 per thread), k in steps of TK
//                         through shared memory; accumulation in the element type, in a fixed k order.
//   gemm_tc_*             tensor cores with float32 accumulation (see gemm_tc).
#include "common.cuh" // i64, bf16, widen, narrow
#include "tensor_core.cuh"

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

// Tensor-core tiles: blocks of TCT threads compute TCM × TCN outputs as 8 warps of 64 × 32 (2 × 4 warps; 4 × 4 m16n8
// accumulators each), k in slices of TCK.
#define TCM 128
#define TCN 128
#define TCK 16
#define TCT 256

template <bool BF> struct TcSlice
{
    // A slice in shared memory: bfloat16 pairs or TF32 bits, rows of TCK k (padded so fragment loads hit distinct banks).
    typedef unsigned short E;
    static const int LD = TCK + 8;
};
template <> struct TcSlice<false>
{
    typedef unsigned E;
    static const int LD = TCK + 4;
};

// C (+)= A·B on tensor cores, float32 accumulation: BF = bfloat16 products (m16n8k16; float32 operands rounded to
// bfloat16 once, bfloat16 operands as stored), else TF32 (m16n8k8, operands rounded with cvt.rna). A slice is held as
// As[m][k] and Bs[n][k] (k contiguous, so each fragment register is one 32-bit shared load) in two buffers: the next
// slice is loaded into registers while the current one is multiplied, then stored into the other buffer (one barrier
// per slice). Each thread loads PER elements of each operand per slice, consecutive threads along whichever of the
// operand's two axes has unit stride. Output O (float or bfloat16) rounded once; accumulate adds the old C in float32.
template <typename S, typename O, bool BF> __device__ void gemm_tc(MatDesc d, const S* a, const S* b, O* c)
{
    typedef typename TcSlice<BF>::E E;
    const int LD = TcSlice<BF>::LD;
    extern __shared__ __align__(16) unsigned char smem[];
    E* As = (E*)smem;                 // [2][TCM][LD]
    E* Bs = As + 2 * TCM * LD;        // [2][TCN][LD]
    const int tid = threadIdx.x, w = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
    const int wm = (w & 1) * 64, wn = (w >> 1) * 32;
    const i64 row0 = blockIdx.y * (i64)TCM, col0 = blockIdx.x * (i64)TCN, z = blockIdx.z;
    const S* ab = a + z * d.sa0;
    const S* bb = b + z * d.sb0;
    // Along m (A) / n (B) when that axis has unit stride, else along k.
    const bool aAlongM = d.sa1 == 1 && d.sa2 != 1, bAlongN = d.sb2 == 1 || d.sb1 != 1;
    constexpr int PER = TCM * TCK / TCT; // elements of each operand a thread moves per slice
    float ra[PER], rb[PER];
    auto load = [&](i64 k0) {
#pragma unroll
        for (int u = 0; u < PER; u++)
        {
            int e = tid + u * TCT;
            int r = aAlongM ? e % TCM : e / TCK, kk = aAlongM ? e / TCM : e % TCK;
            i64 gr = row0 + r, gk = k0 + kk;
            ra[u] = gr < d.m && gk < d.k ? widen(ab[gr * d.sa1 + gk * d.sa2]) : 0.f;
            int cc = bAlongN ? e % TCN : e / TCK, kb = bAlongN ? e / TCN : e % TCK;
            i64 gc = col0 + cc, gkb = k0 + kb;
            rb[u] = gc < d.n && gkb < d.k ? widen(bb[gkb * d.sb1 + gc * d.sb2]) : 0.f;
        }
    };
    auto store = [&](int buf) {
        E* as = As + buf * TCM * LD;
        E* bs = Bs + buf * TCN * LD;
#pragma unroll
        for (int u = 0; u < PER; u++)
        {
            int e = tid + u * TCT;
            int r = aAlongM ? e % TCM : e / TCK, kk = aAlongM ? e / TCM : e % TCK;
            int cc = bAlongN ? e % TCN : e / TCK, kb = bAlongN ? e / TCN : e % TCK;
            if constexpr (BF)
            {
                as[r * LD + kk] = narrow<bf16>(ra[u]);
                bs[cc * LD + kb] = narrow<bf16>(rb[u]);
            }
            else
            {
                as[r * LD + kk] = to_tf32(ra[u]);
                bs[cc * LD + kb] = to_tf32(rb[u]);
            }
        }
    };
    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int r = 0; r < 4; r++) acc[i][j][r] = 0.f;
    // The 32-bit word holding elements (row, k) and (row, k + 1) of a slice (bfloat16), or element (row, k) (TF32).
    auto word = [&](const E* s, int row, int k) { return *(const unsigned*)(s + row * LD + k); };
    load(0);
    store(0);
    __syncthreads();
    for (i64 k0 = 0, it = 0; k0 < d.k || it == 0; k0 += TCK, it++)
    {
        const int cur = (int)(it & 1);
        const bool more = k0 + TCK < d.k;
        if (more) load(k0 + TCK);
        const E* as = As + cur * TCM * LD;
        const E* bs = Bs + cur * TCN * LD;
        constexpr int KS = BF ? 16 : 8;
#pragma unroll
        for (int ks = 0; ks < TCK; ks += KS)
        {
            unsigned fa[4][4], fb[4][2];
            const int ka = BF ? ks + 2 * t : ks + t, hi = BF ? 8 : 4;
#pragma unroll
            for (int i = 0; i < 4; i++)
            {
                int r = wm + 16 * i + g;
                fa[i][0] = word(as, r, ka);
                fa[i][1] = word(as, r + 8, ka);
                fa[i][2] = word(as, r, ka + hi);
                fa[i][3] = word(as, r + 8, ka + hi);
            }
#pragma unroll
            for (int j = 0; j < 4; j++)
            {
                int cc = wn + 8 * j + g;
                fb[j][0] = word(bs, cc, ka);
                fb[j][1] = word(bs, cc, ka + hi);
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++)
                {
                    if constexpr (BF) mma_bf16(acc[i][j], fa[i][0], fa[i][1], fa[i][2], fa[i][3], fb[j][0], fb[j][1]);
                    else mma_tf32(acc[i][j], fa[i][0], fa[i][1], fa[i][2], fa[i][3], fb[j][0], fb[j][1]);
                }
        }
        if (more) store(cur ^ 1);
        __syncthreads();
        if (!more) break;
    }
    O* cb = c + z * d.sc0;
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int r = 0; r < 4; r++)
            {
                i64 row = row0 + wm + 16 * i + g + (r >= 2 ? 8 : 0), col = col0 + wn + 8 * j + 2 * t + (r & 1);
                if (row < d.m && col < d.n)
                {
                    O* p = cb + row * d.sc1 + col * d.sc2;
                    float v = acc[i][j][r];
                    *p = narrow<O>(d.accumulate ? widen(*p) + v : v);
                }
            }
}

extern "C" __global__ void __launch_bounds__(TCT, 1) gemm_tc_tf32(MatDesc d, const float* a, const float* b, float* c) { gemm_tc<float, float, false>(d, a, b, c); }
extern "C" __global__ void __launch_bounds__(TCT, 1) gemm_tc_bf16_f32(MatDesc d, const float* a, const float* b, float* c) { gemm_tc<float, float, true>(d, a, b, c); }
extern "C" __global__ void __launch_bounds__(TCT, 1) gemm_tc_bf16(MatDesc d, const bf16* a, const bf16* b, bf16* c) { gemm_tc<bf16, bf16, true>(d, a, b, c); }
