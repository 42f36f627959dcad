// Causal additive (LightNet) attention pieces around the chunked gated kernels (gated.cu), on k [N, T, d]
// with an optional running normaliser Z0 [N, d]; chunks of CH = 64 tokens, one thread per (n, chunk, i).
// q, k, k̄, G and their gradients share one token-row layout (Rows, as in gated.cu); Z and the per-chunk values are dense.
// k and dk are stored as S (T, or bfloat16 with T = float); everything else is T.
//   Z_t = log(exp(Z_{t−1}) + exp(k_t)) (Z_{−1} = Z0, or −∞ without it; running-max form in the input's
//   precision inside a chunk, the chunks' log-sums combined in double),
//   k̄_t = exp(k_t − Z_t),  G_t = Z_ref − Z_t  with Z_ref the Z before the chunk (Z_0 for the first chunk
//   without Z0): the log-decay accumulated inside the chunk, which is what the gated kernels consume.
//   additive_lse   log Σ exp(k) of every chunk;
//   additive_zref  Z before every chunk (Z0 and the log-sums of the chunks before it);
//   additive_prep  k̄, G, the factored-form flag of each chunk and Z_T, each chunk started from its Z_ref; and zc [N, chunks,
//                  2, d], each chunk's Z_ref and Z_last, for the forward scan's log-key form (gated.cu: k̄ ⊙ e^{G_last − G}
//                  = exp(k − Z_last), e^{G_last} = exp(Z_ref − Z_last); both 0 where every key so far is −∞, while Z_ref
//                  alone stays −∞ when only the keys before the chunk are).
// The backward in closed form (SPEC §1), λ_t = exp(Z_{t−1} − Z_t):
//   w_t = q_t ⊙ dq_t + λ_{t+1} ⊙ w_{t+1},  dk_t = k̄_t ⊙ (dk̄_t − w_t),  dZ0 = rowsum(S0 ⊙ dS0) − λ_0 ⊙ w_0;
//   gated.cu's gated_bwd, which has q ⊙ dq at hand, runs the recurrence through each chunk alone and gives dk̄ − w, w at
//   the chunk's start and the factor that carries the next chunk's w in (λ telescopes inside a chunk: e^{G_s − G_t});
//   additive_wchain   combines the chunks' w backwards (W at every chunk start);
//   additive_dk       finishes every token of a chunk independently.
#include "common.cuh" // i64, Rows

#define CH 64
#define FACTOR_LIMIT 40.0
#define NEG_INF (-(double)__int_as_float(0x7f800000))

// Adds exp(x) to the running sum exp(m)·s (running-max form; −∞ terms are skipped).
template <typename T> __device__ __forceinline__ void lse_add(T& m, T& s, T x)
{
    if (x == T(NEG_INF)) return;
    if (x > m) { s = s * exp(m - x) + T(1); m = x; }
    else s += exp(x - m);
}

template <typename T> __device__ __forceinline__ T lse_value(T m, T s) { return m == T(NEG_INF) ? m : m + log(s); }

#define FOR_CHUNK_FEATURES(n_seq, chunks, d) \
    for (i64 p = blockIdx.x * (i64)blockDim.x + threadIdx.x; p < (n_seq) * (chunks) * (d); p += (i64)gridDim.x * blockDim.x)

// lse[n, c, i] = log Σ_{t in chunk c} exp(k_t[i]) (in T, kept as double).
template <typename T, typename S> __device__ void additive_lse(const S* __restrict__ k, double* __restrict__ lse, i64 n_seq, i64 tn, i64 d, i64 chunks, Rows kr)
{
    FOR_CHUNK_FEATURES(n_seq, chunks, d)
    {
        i64 i = p % d, c = (p / d) % chunks, n = p / (d * chunks), t0 = c * CH, L = min((i64)CH, tn - t0);
        // the maximum first, then one sum: the exponentials are independent (no running rescale on the critical path); a NaN
        // sticks and +∞ gives +∞, as in the running form
        T m = T(NEG_INF), s = T(1);
        const S* kc = k + kr.at(n, t0) + i;
#pragma unroll 8
        for (i64 l = 0; l < L; l++)
        {
            T x = (T)widen(kc[l * kr.st]);
            m = x > m || x != x ? x : m;
        }
        if (m != T(NEG_INF) && m != -T(NEG_INF))
        {
            s = T(0);
#pragma unroll 8
            for (i64 l = 0; l < L; l++) s += exp((T)widen(kc[l * kr.st]) - m);
        }
        lse[p] = (double)lse_value(m, s);
    }
}

// zref[n, c, i] = Z before chunk c (Z0 and the chunk log-sums before it combined in double; −∞ when empty).
template <typename T> __device__ void additive_zref(const T* z0, const double* lse, double* zref, i64 n_seq, i64 d, i64 chunks)
{
    for (i64 p = blockIdx.x * (i64)blockDim.x + threadIdx.x; p < n_seq * d; p += (i64)gridDim.x * blockDim.x)
    {
        i64 n = p / d, i = p % d;
        double m = z0 ? (double)z0[p] : NEG_INF, s = z0 ? 1.0 : 0.0;
        for (i64 c = 0; c < chunks; c++)
        {
            zref[(n * chunks + c) * d + i] = lse_value(m, s);
            lse_add(m, s, lse[(n * chunks + c) * d + i]);
        }
    }
}

// flag[n, c] must be 1 on entry; a chunk with some |G| > FACTOR_LIMIT sets it to 0.
template <typename T, typename S> __device__ void additive_prep(const S* __restrict__ k, const double* __restrict__ zref, T* __restrict__ kbar,
    T* __restrict__ G, T* __restrict__ zc, int* flag, T* zT, bool has_z0,
    i64 n_seq, i64 tn, i64 d, i64 chunks, Rows kr)
{
    FOR_CHUNK_FEATURES(n_seq, chunks, d)
    {
        i64 i = p % d, c = (p / d) % chunks, n = p / (d * chunks), t0 = c * CH, L = min((i64)CH, tn - t0);
        T zr = (T)zref[p], m = zr, s = zr == T(NEG_INF) ? T(0) : T(1), z = zr;
        bool fine = true;
        i64 base = kr.at(n, t0) + i;
#pragma unroll 8
        for (i64 l = 0; l < L; l++)
        {
            i64 at = base + l * kr.st;
            T kv = (T)widen(k[at]);
            lse_add(m, s, kv);
            z = lse_value(m, s);
            if (l == 0 && c == 0 && !has_z0) zr = z;
            T gv = z == T(NEG_INF) ? T(0) : zr - z;
            kbar[at] = z == T(NEG_INF) ? T(0) : exp(kv - z);
            G[at] = gv;
            fine = fine && fabs((double)gv) <= FACTOR_LIMIT;
        }
        if (!fine) flag[n * chunks + c] = 0;
        i64 zb = (n * chunks + c) * 2 * d + i;
        zc[zb] = z == T(NEG_INF) ? T(0) : zr;
        zc[zb + d] = z == T(NEG_INF) ? T(0) : z;
        if (c == chunks - 1) zT[n * d + i] = z;
    }
}

// The w at the chunk starts from gated_bwd's per-chunk pieces, W_c = wloc_c + carry_c ⊙ W_{c+1} (W_chunks = 0), one thread
// per (n, i) walking the chunks backwards: carry[n, c] ← W_{c+1} (what chunk c gets from the later ones), wloc[n, 0] ← W_0.
template <typename T> __device__ void additive_wchain(T* __restrict__ wloc, T* __restrict__ carry, i64 n_seq, i64 d, i64 chunks)
{
    for (i64 p = blockIdx.x * (i64)blockDim.x + threadIdx.x; p < n_seq * d; p += (i64)gridDim.x * blockDim.x)
    {
        i64 n = p / d, i = p % d;
        T W = T(0);
#pragma unroll 8
        for (i64 c = chunks - 1; c >= 0; c--)
        {
            i64 at = (n * chunks + c) * d + i;
            T next = W;
            W = wloc[at] + carry[at] * W;
            carry[at] = next;
        }
        wloc[n * chunks * d + i] = W;
    }
}

// dk_t = k̄_t ⊙ (u_t − e^{G_last − G_t + G'_0} ⊙ W_{c+1}) for the tokens t of chunk c, with u = dk̄ − (w from the chunk
// alone; gated_bwd) and W_{c+1} = wnext[n, c] (additive_wchain's carry); every exponent ≤ 0. dZ0 = rowsum(S0 ⊙ dS0) − λ_0 ⊙ W_0.
template <typename T, typename S> __device__ void additive_dk(const T* __restrict__ kbar, const T* __restrict__ G, const T* __restrict__ u,
    const T* __restrict__ w0, const T* __restrict__ wnext, const T* s0, const T* ds0, S* __restrict__ dk, T* dz0,
    i64 n_seq, i64 tn, i64 d, i64 e, i64 chunks, Rows kr)
{
    FOR_CHUNK_FEATURES(n_seq, chunks, d)
    {
        i64 i = p % d, c = (p / d) % chunks, n = p / (d * chunks), t0 = c * CH, L = min((i64)CH, tn - t0);
        i64 base = kr.at(n, t0) + i, st = kr.st;
        bool more = c + 1 < chunks;
        T W = more ? wnext[p] : T(0);
        // G_last + G'_0: the log-decay from the chunk's start to the next chunk's first token
        T gin = more ? G[base + (L - 1) * st] + G[base + L * st] : T(0);
#pragma unroll 8
        for (i64 l = 0; l < L; l++)
        {
            i64 at = base + l * st;
            T w = more ? exp(gin - G[at]) * W : T(0);
            dk[at] = narrow<S>(kbar[at] * (u[at] - w));
        }
        if (c == 0 && dz0)
        {
            T r = T(0);
            if (s0)
                for (i64 j = 0; j < e; j++) r += s0[(n * d + i) * e + j] * ds0[(n * d + i) * e + j];
            dz0[n * d + i] = r - exp(G[base]) * w0[n * chunks * d + i];
        }
    }
}

// The kernels of compute type T with k and dk stored as S; additive_zref and additive_wchain read only T.
#define ADDITIVE(SN, T, S) \
    extern "C" __global__ void additive_lse_##SN(const S* k, double* lse, i64 n, i64 t, i64 d, i64 chunks, Rows kr) \
    { additive_lse<T>(k, lse, n, t, d, chunks, kr); } \
    extern "C" __global__ void additive_prep_##SN(const S* k, const double* zref, T* kbar, T* G, T* zc, int* flag, T* zT, i64 has_z0, i64 n, i64 t, \
        i64 d, i64 chunks, Rows kr) \
    { additive_prep(k, zref, kbar, G, zc, flag, zT, has_z0 != 0, n, t, d, chunks, kr); } \
    extern "C" __global__ void additive_dk_##SN(const T* kbar, const T* G, const T* u, const T* w0, const T* wnext, const T* s0, const T* ds0, \
        S* dk, T* dz0, i64 n, i64 t, i64 d, i64 e, i64 chunks, Rows kr) \
    { additive_dk(kbar, G, u, w0, wnext, s0, ds0, dk, dz0, n, t, d, e, chunks, kr); }
#define ADDITIVE_ZREF(SN, T) \
    extern "C" __global__ void additive_zref_##SN(const T* z0, const double* lse, double* zref, i64 n, i64 d, i64 chunks) \
    { additive_zref(z0, lse, zref, n, d, chunks); } \
    extern "C" __global__ void additive_wchain_##SN(T* wloc, T* carry, i64 n, i64 d, i64 chunks) \
    { additive_wchain(wloc, carry, n, d, chunks); }

ADDITIVE(f32, float, float)
ADDITIVE(f64, double, double)
ADDITIVE(bf16, float, bf16)
ADDITIVE_ZREF(f32, float)
ADDITIVE_ZREF(f64, double)
