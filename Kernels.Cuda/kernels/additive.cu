// Causal additive (LightNet) attention pieces around the chunked gated kernels (gated.cu), on k [N, T, d]
// with an optional running normaliser Z0 [N, d]; chunks of CH = 64 tokens, one thread per (n, chunk) and four consecutive
// features in additive_prep and additive_dk (vector loads and stores; one feature when d, the rows or the pointers do not
// allow four), one feature elsewhere.
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

// W consecutive features of one chunk per thread: p runs over (n, c, feature group), i is the group's first feature and
// q = (n·chunks + c)·d + i indexes the per-(sequence, chunk, feature) arrays.
#define FOR_CHUNK_LANES(W, n_seq, chunks, d) \
    for (i64 p = blockIdx.x * (i64)blockDim.x + threadIdx.x; p < (n_seq) * (chunks) * ((d) / (W)); p += (i64)gridDim.x * blockDim.x)

// W values of one token row moved as one (vector) access: the kernels run W = 4 when d, the rows and every pointer allow it.
template <int W, typename U> struct __align__(W * sizeof(U) < 16 ? W * sizeof(U) : 16) Lanes
{
    U v[W];
};
template <int W, typename U> __device__ __forceinline__ Lanes<W, U> lanes(const U* p) { return *(const Lanes<W, U>*)p; }
// Stores W values of a row; four as one vector store (spelled in PTX: nvcc split a float4 store of values computed in
// branches into four scalar ones). No memory clobber: nothing in these kernels reads what they store.
template <int W, typename U> __device__ __forceinline__ void put(U* p, const Lanes<W, U>& x)
{
    if constexpr (W == 4 && sizeof(U) == 4)
        asm volatile("st.global.v4.f32 [%0], {%1, %2, %3, %4};" ::"l"(p), "f"(x.v[0]), "f"(x.v[1]), "f"(x.v[2]), "f"(x.v[3]));
    else if constexpr (W == 4 && sizeof(U) == 8)
    {
        asm volatile("st.global.v2.f64 [%0], {%1, %2};" ::"l"(p), "d"(x.v[0]), "d"(x.v[1]));
        asm volatile("st.global.v2.f64 [%0], {%1, %2};" ::"l"(p + 2), "d"(x.v[2]), "d"(x.v[3]));
    }
    else if constexpr (W == 4 && sizeof(U) == 2)
        asm volatile("st.global.v2.u32 [%0], {%1, %2};" ::"l"(p), "r"((unsigned)x.v[0] | (unsigned)x.v[1] << 16), "r"((unsigned)x.v[2] | (unsigned)x.v[3] << 16));
    else
        for (int w = 0; w < W; w++) p[w] = x.v[w];
}

// Whether the row pointers allow W = 4 lanes: d and the rows are multiples of 4 elements and every pointer is aligned to 4
// elements (at most 16 bytes).
template <typename... P> __device__ __forceinline__ bool four_lanes(i64 d, Rows kr, P... p)
{
    return d % 4 == 0 && kr.aligned(4) && (... && (((size_t)p & (4 * sizeof(*p) < 16 ? 4 * sizeof(*p) - 1 : 15)) == 0));
}

// lse[n, c, i] = log Σ_{t in chunk c} exp(k_t[i]) (in T, kept as double); one feature per thread, since four lanes
// per thread make this kernel slower (unlike additive_prep and additive_dk).
template <typename T, typename S> __device__ void additive_lse(const S* __restrict__ k, double* __restrict__ lse, i64 n_seq, i64 tn, i64 d, i64 chunks, Rows kr)
{
    FOR_CHUNK_LANES(1, n_seq, chunks, d)
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
template <int W, typename T, typename S> __device__ void additive_prep(const S* __restrict__ k, const double* __restrict__ zref, T* __restrict__ kbar,
    T* __restrict__ G, T* __restrict__ zc, int* flag, T* zT, bool has_z0, i64 n_seq, i64 tn, i64 d, i64 chunks, Rows kr)
{
    const i64 dw = d / W;
    FOR_CHUNK_LANES(W, n_seq, chunks, d)
    {
        i64 i = p % dw * W, c = (p / dw) % chunks, n = p / (dw * chunks), t0 = c * CH, L = min((i64)CH, tn - t0), q = (n * chunks + c) * d + i;
        T zr[W], m[W], s[W], z[W];
        for (int w = 0; w < W; w++)
        {
            zr[w] = (T)zref[q + w];
            m[w] = z[w] = zr[w];
            s[w] = zr[w] == T(NEG_INF) ? T(0) : T(1);
        }
        bool fine = true;
        i64 base = kr.at(n, t0) + i;
#pragma unroll 4
        for (i64 l = 0; l < L; l++)
        {
            i64 at = base + l * kr.st;
            Lanes<W, S> kv = lanes<W>(k + at);
            Lanes<W, T> kb, gv;
#pragma unroll
            for (int w = 0; w < W; w++)
            {
                T x = (T)widen(kv.v[w]);
                lse_add(m[w], s[w], x);
                z[w] = lse_value(m[w], s[w]);
                if (l == 0 && c == 0 && !has_z0) zr[w] = z[w];
                gv.v[w] = z[w] == T(NEG_INF) ? T(0) : zr[w] - z[w];
                kb.v[w] = z[w] == T(NEG_INF) ? T(0) : exp(x - z[w]);
                fine = fine && fabs((double)gv.v[w]) <= FACTOR_LIMIT;
            }
            put(kbar + at, kb);
            put(G + at, gv);
        }
        if (!fine) flag[n * chunks + c] = 0;
        i64 zb = (n * chunks + c) * 2 * d + i;
        for (int w = 0; w < W; w++)
        {
            zc[zb + w] = z[w] == T(NEG_INF) ? T(0) : zr[w];
            zc[zb + d + w] = z[w] == T(NEG_INF) ? T(0) : z[w];
            if (c == chunks - 1) zT[n * d + i + w] = z[w];
        }
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
template <int V, typename T, typename S> __device__ void additive_dk(const T* __restrict__ kbar, const T* __restrict__ G, const T* __restrict__ u,
    const T* __restrict__ w0, const T* __restrict__ wnext, const T* s0, const T* ds0, S* __restrict__ dk, T* dz0,
    i64 n_seq, i64 tn, i64 d, i64 e, i64 chunks, Rows kr)
{
    const i64 dw = d / V;
    FOR_CHUNK_LANES(V, n_seq, chunks, d)
    {
        i64 i = p % dw * V, c = (p / dw) % chunks, n = p / (dw * chunks), t0 = c * CH, L = min((i64)CH, tn - t0), q = (n * chunks + c) * d + i;
        i64 base = kr.at(n, t0) + i, st = kr.st;
        bool more = c + 1 < chunks;
        T W[V], gin[V];
        for (int w = 0; w < V; w++)
        {
            W[w] = more ? wnext[q + w] : T(0);
            // G_last + G'_0: the log-decay from the chunk's start to the next chunk's first token
            gin[w] = more ? G[base + (L - 1) * st + w] + G[base + L * st + w] : T(0);
        }
#pragma unroll 4
        for (i64 l = 0; l < L; l++)
        {
            i64 at = base + l * st;
            Lanes<V, T> g = lanes<V>(G + at), kb = lanes<V>(kbar + at), uu = lanes<V>(u + at);
            Lanes<V, S> out;
#pragma unroll
            for (int w = 0; w < V; w++) out.v[w] = narrow<S>(kb.v[w] * (uu.v[w] - (more ? exp(gin[w] - g.v[w]) * W[w] : T(0))));
            put(dk + at, out);
        }
        if (c == 0 && dz0)
            for (int w = 0; w < V; w++)
            {
                i64 f = n * d + i + w;
                T r = T(0);
                if (s0)
                    for (i64 j = 0; j < e; j++) r += s0[f * e + j] * ds0[f * e + j];
                dz0[f] = r - exp(G[base + w]) * w0[n * chunks * d + i + w];
            }
    }
}

// The kernels of compute type T with k and dk stored as S; additive_zref and additive_wchain read only T.
#define ADDITIVE(SN, T, S) \
    extern "C" __global__ void additive_lse_##SN(const S* k, double* lse, i64 n, i64 t, i64 d, i64 chunks, Rows kr) \
    { \
        additive_lse<T>(k, lse, n, t, d, chunks, kr); \
    } \
    extern "C" __global__ void additive_prep_##SN(const S* k, const double* zref, T* kbar, T* G, T* zc, int* flag, T* zT, i64 has_z0, i64 n, i64 t, \
        i64 d, i64 chunks, Rows kr) \
    { \
        if (four_lanes(d, kr, k, kbar, G)) additive_prep<4>(k, zref, kbar, G, zc, flag, zT, has_z0 != 0, n, t, d, chunks, kr); \
        else additive_prep<1>(k, zref, kbar, G, zc, flag, zT, has_z0 != 0, n, t, d, chunks, kr); \
    } \
    extern "C" __global__ void additive_dk_##SN(const T* kbar, const T* G, const T* u, const T* w0, const T* wnext, const T* s0, const T* ds0, \
        S* dk, T* dz0, i64 n, i64 t, i64 d, i64 e, i64 chunks, Rows kr) \
    { \
        if (four_lanes(d, kr, kbar, G, u, (const S*)dk)) additive_dk<4>(kbar, G, u, w0, wnext, s0, ds0, dk, dz0, n, t, d, e, chunks, kr); \
        else additive_dk<1>(kbar, G, u, w0, wnext, s0, ds0, dk, dz0, n, t, d, e, chunks, kr); \
    }
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
