// Counter-based random fill (Philox4x32-10, the same stream as LightNet.Generator: element i uses
// counter offset + i and key seed) and a 64-bit fill.
typedef long long i64;
typedef unsigned long long u64;

__device__ __forceinline__ void philox(u64 ctr, u64 key, unsigned int* out)
{
    unsigned int c0 = (unsigned int)ctr, c1 = (unsigned int)(ctr >> 32), c2 = 0, c3 = 0;
    unsigned int k0 = (unsigned int)key, k1 = (unsigned int)(key >> 32);
    for (int r = 0; r < 10; r++)
    {
        u64 p0 = 0xD2511F53ull * c0, p1 = 0xCD9E8D57ull * c2;
        unsigned int n0 = (unsigned int)(p1 >> 32) ^ c1 ^ k0, n2 = (unsigned int)(p0 >> 32) ^ c3 ^ k1;
        c1 = (unsigned int)p1; c3 = (unsigned int)p0; c0 = n0; c2 = n2;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

__device__ __forceinline__ u64 bits53(unsigned int hi, unsigned int lo) { return ((((u64)hi) << 21) ^ lo) & ((1ull << 53) - 1); }

// Standard normal (Box-Muller on (0,1] uniforms) or uniform [0,1), in double.
__device__ __forceinline__ double draw(u64 seed, u64 i, i64 normal)
{
    unsigned int r[4];
    philox(i, seed, r);
    if (!normal) return (double)bits53(r[0], r[1]) * (1.0 / 9007199254740992.0);
    double u1 = (double)bits53(r[0], r[1]) * (1.0 / 9007199254740992.0) + 1.0 / 18014398509481984.0;
    double u2 = (double)bits53(r[2], r[3]) * (1.0 / 9007199254740992.0) + 1.0 / 18014398509481984.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

extern "C" __global__ void random_f32(float* y, i64 n, u64 seed, u64 offset, i64 normal)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
        y[i] = (float)draw(seed, offset + (u64)i, normal);
}

extern "C" __global__ void random_f64(double* y, i64 n, u64 seed, u64 offset, i64 normal)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
        y[i] = draw(seed, offset + (u64)i, normal);
}

extern "C" __global__ void fill_b64(u64* y, i64 n, u64 bits)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
        y[i] = bits;
}
