// The 64×64 product tiles of the chunk kernels (gated.cu, which includes this after common.cuh and tensor_core.cuh):
// exact fp32/fp64 FMA (Simt, and Simt4 for the scan; operands read by 128-bit shared loads) or TF32 tensor cores (Tf32), and
// the factors' exponentials (p_exp: exact, or ex2.approx in the TF32 kernels).
#pragma once

__device__ __forceinline__ float f_exp(float x) { return expf(x); }
__device__ __forceinline__ double f_exp(double x) { return exp(x); }
// The factors of the chunk kernels: exact (f_exp) in the fp32/fp64 kernels, ex2.approx.ftz (as __expf, ~2 ulp plus
// |x|·2⁻²⁴ relative, but results below 2⁻¹²⁶ flush to zero without __expf's rescaling) in the TF32 ones, whose products
// round their operands to 10 bits anyway.
__device__ __forceinline__ float ex2_ftz(float x)
{
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}
template <bool FAST> __device__ __forceinline__ float p_exp(float x) { return FAST ? ex2_ftz(x * 1.44269504088896341f) : expf(x); }
template <bool FAST> __device__ __forceinline__ double p_exp(double x) { return exp(x); }

// Four consecutive values from 16-byte-aligned shared memory (one 128-bit load for float, two for double).
__device__ __forceinline__ void ld4(const float* p, float* o)
{
    float4 v = *(const float4*)p;
    o[0] = v.x; o[1] = v.y; o[2] = v.z; o[3] = v.w;
}
__device__ __forceinline__ void ld4(const double* p, double* o)
{
    double2 v0 = ((const double2*)p)[0], v1 = ((const double2*)p)[1];
    o[0] = v0.x; o[1] = v0.y; o[2] = v1.x; o[3] = v1.y;
}
// Four consecutive bfloat16 (8-byte aligned) widened to float.
__device__ __forceinline__ void ld4(const bf16* p, float* o)
{
    uint2 v = *(const uint2*)p;
    o[0] = __uint_as_float(v.x << 16); o[1] = __uint_as_float(v.x & 0xFFFF0000u);
    o[2] = __uint_as_float(v.y << 16); o[3] = __uint_as_float(v.y & 0xFFFF0000u);
}
__device__ __forceinline__ void st4(float* p, const float* v) { *(float4*)p = make_float4(v[0], v[1], v[2], v[3]); }
__device__ __forceinline__ void st4(double* p, const double* v)
{
    ((double2*)p)[0] = make_double2(v[0], v[1]);
    ((double2*)p)[1] = make_double2(v[2], v[3]);
}

// A 64×64 accumulator spread over the 256 threads: thread (ty, tx) holds rows 4ty … 4ty + 3, columns tx + 16b.
// Operands are read four at a time (128-bit shared loads) along the contiguous direction: A's four rows when A is
// stored k-major (AT), four k otherwise; B's four k when B is stored n-major (BT). Every element still accumulates its
// products in order of k (the same FMA sequence as one product at a time). K is a multiple of 4; leading dimensions
// and offsets are multiples of 4 elements. An operand may be stored as bfloat16 (a raw staged tile), widened when read.
template <typename T> struct Simt
{
    T c[4][4];
    __device__ void zero()
    {
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) c[a][b] = T(0);
    }
    // C += A·B over K, A(m, k) = AT ? a[k·lda + m] : a[m·lda + k], B(k, n) = BT ? b[n·ldb + k] : b[k·ldb + n].
    template <bool AT, bool BT, typename SA, typename SB> __device__ void mma(const SA* a, int lda, const SB* b, int ldb, int K)
    {
        int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
        const SA* ap = AT ? a + 4 * ty : a + 4 * ty * lda;
        const SB* bp = BT ? b + tx * ldb : b + tx;
#pragma unroll 1
        for (int k = 0; k < K; k += 4)
        {
            T av[4][4], bv[4][4]; // [kk][row], [kk][column]
            if (AT)
            {
#pragma unroll
                for (int kk = 0; kk < 4; kk++) ld4(ap + (k + kk) * lda, av[kk]);
            }
            else
            {
#pragma unroll
                for (int i = 0; i < 4; i++)
                {
                    T t4[4];
                    ld4(ap + i * lda + k, t4);
#pragma unroll
                    for (int kk = 0; kk < 4; kk++) av[kk][i] = t4[kk];
                }
            }
            if (BT)
            {
#pragma unroll
                for (int j = 0; j < 4; j++)
                {
                    T t4[4];
                    ld4(bp + 16 * j * ldb + k, t4);
#pragma unroll
                    for (int kk = 0; kk < 4; kk++) bv[kk][j] = t4[kk];
                }
            }
            else
            {
#pragma unroll
                for (int kk = 0; kk < 4; kk++)
#pragma unroll
                    for (int j = 0; j < 4; j++) bv[kk][j] = (T)widen(bp[(k + kk) * ldb + 16 * j]);
            }
#pragma unroll
            for (int kk = 0; kk < 4; kk++)
#pragma unroll
                for (int i = 0; i < 4; i++)
#pragma unroll
                    for (int j = 0; j < 4; j++) c[i][j] = fma(av[kk][i], bv[kk][j], c[i][j]);
        }
    }
    // Calls f(row, column, value&) for every element this thread holds.
    template <typename F> __device__ void each(F f)
    {
        int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
#pragma unroll
        for (int a = 0; a < 4; a++)
#pragma unroll
            for (int b = 0; b < 4; b++) f(4 * ty + a, tx + 16 * b, c[a][b]);
    }
};

// The scan's accumulator: thread (ty, tx) holds the 4×4 block rows 4ty …, columns 4tx … (both operands k-major, so
// every step is one 128-bit load of A and one of B for 16 FMA), and stores four consecutive columns at once.
template <typename T> struct Simt4
{
    T c[4][4];
    template <bool AT, bool BT, typename SA, typename SB> __device__ void mma(const SA* a, int lda, const SB* b, int ldb, int K)
    {
        static_assert(AT && !BT, "Simt4 multiplies k-major operands");
        int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
        const SA* ap = a + 4 * ty;
        const SB* bp = b + 4 * tx;
#pragma unroll 4
        for (int k = 0; k < K; k++)
        {
            T av[4], bv[4];
            ld4(ap + k * lda, av);
            ld4(bp + k * ldb, bv);
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) c[i][j] = fma(av[i], bv[j], c[i][j]);
        }
    }
    template <typename F> __device__ void each(F f)
    {
        int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) f(4 * ty + a, 4 * tx + b, c[a][b]);
    }
    // Writes the tile to dst (element (r, cc) at dst[r·ld + cc]) for rows < rows and columns < cols; vec: ld and dst
    // allow 16-byte stores and cols is a multiple of 4.
    __device__ void store(T* dst, i64 ld, int rows, int cols, bool vec)
    {
        int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
        for (int a = 0; a < 4; a++)
        {
            int r = 4 * ty + a, cc = 4 * tx;
            if (r >= rows) continue;
            if (vec) { if (cc < cols) st4(dst + r * ld + cc, c[a]); }
            else
                for (int b = 0; b < 4; b++)
                    if (cc + b < cols) dst[r * ld + cc + b] = c[a][b];
        }
    }
};

// An operand element as TF32 bits: float rounded to nearest; bfloat16 exactly (its bits are the top of a TF32's).
__device__ __forceinline__ unsigned tf32_bits(float x) { return to_tf32(x); }
__device__ __forceinline__ unsigned tf32_bits(bf16 x) { return (unsigned)x << 16; }

// The same tile on TF32 tensor cores: warp w owns rows 16(w mod 4) … +16 and columns 32(w / 4) … +32 as
// four m16n8 accumulators (PTX fragment layout of mma.m16n8k8). Operands are float or bfloat16 tiles.
struct Tf32
{
    float c[4][4];
    __device__ void zero()
    {
        for (int j = 0; j < 4; j++)
            for (int r = 0; r < 4; r++) c[j][r] = 0.f;
    }
    template <bool AT, bool BT, typename SA, typename SB> __device__ void mma(const SA* a, int lda, const SB* b, int ldb, int K)
    {
        int w = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
        int m0 = (w & 3) * 16, n0 = (w >> 2) * 32;
        for (int k = 0; k < K; k += 8)
        {
#define AE(m, kk) (AT ? a[(kk) * lda + (m)] : a[(m) * lda + (kk)])
#define BE(kk, n) (BT ? b[(n) * ldb + (kk)] : b[(kk) * ldb + (n)])
            unsigned a0 = tf32_bits(AE(m0 + g, k + t)), a1 = tf32_bits(AE(m0 + g + 8, k + t));
            unsigned a2 = tf32_bits(AE(m0 + g, k + t + 4)), a3 = tf32_bits(AE(m0 + g + 8, k + t + 4));
            for (int j = 0; j < 4; j++)
            {
                int n = n0 + 8 * j + g;
                mma_tf32(c[j], a0, a1, a2, a3, tf32_bits(BE(k + t, n)), tf32_bits(BE(k + t + 4, n)));
            }
#undef AE
#undef BE
        }
    }
    template <typename F> __device__ void each(F f)
    {
        int w = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
        int m0 = (w & 3) * 16, n0 = (w >> 2) * 32;
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int r = 0; r < 4; r++) f(m0 + g + (r >= 2 ? 8 : 0), n0 + 8 * j + 2 * t + (r & 1), c[j][r]);
    }
};

template <typename T, bool TC> struct AccOf { typedef Simt<T> type; };
template <> struct AccOf<float, true> { typedef Tf32 type; };
