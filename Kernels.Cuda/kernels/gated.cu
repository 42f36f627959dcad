// Gated linear attention, exact token-by-token recurrence (SPEC §1, fla chunk_gla semantics) on
// q, kbar, g [N, T, d], v [N, T, e], states [N, d, e]:
//   S_t = diag(exp(g_t)) S_{t−1} + k̄_t v_tᵀ,   o_t = α S_tᵀ q_t.
// One block per sequence n, one thread per value column j (blockDim ≥ e); thread j keeps column S[:, j]
// (d ≤ GATED_MAX_D values). The backward replays the forward from checkpoints taken every `chunk` steps
// (states inside a chunk are rebuilt into a scratch buffer), then walks t backwards with
//   G_t = α q_t do_tᵀ + diag(λ_{t+1}) G_{t+1} (G_T starts at dS_T),  dq_t = α S_t do_t,  dk̄_t = G_t v_t,
//   dv_t = G_tᵀ k̄_t,  dg_t = λ_t ⊙ rowsum(G_t ⊙ S_{t−1}),  dS_0 = diag(λ_0) G_0.
// Reductions over j: warp shuffles, then one shared-memory atomic per warp.
typedef long long i64;

#define GATED_MAX_D 256

__device__ __forceinline__ float f_exp(float x) { return expf(x); }
__device__ __forceinline__ double f_exp(double x) { return exp(x); }

template <typename T> __device__ __forceinline__ T warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Loads k̄_t and λ_t = exp(g_t) of one step into shared memory (the whole block takes part).
template <typename T> __device__ __forceinline__ void load_step(const T* kb, const T* g, i64 base, i64 d, T* ks, T* ls)
{
    __syncthreads();
    for (int i = threadIdx.x; i < d; i += blockDim.x) { ks[i] = kb[base + i]; ls[i] = f_exp(g[base + i]); }
    __syncthreads();
}

// S = diag(λ) S + k̄ v_j for one state column, optionally stored (column j of a [d, e] state at out).
template <typename T> __device__ __forceinline__ void advance(T* S, const T* ks, const T* ls, T vj, i64 d, T* out, i64 e)
{
    for (int i = 0; i < d; i++)
    {
        S[i] = ls[i] * S[i] + ks[i] * vj;
        if (out) out[i * e] = S[i];
    }
}

template <typename T> __device__ void gated_fwd(const T* q, const T* kb, const T* v, const T* g, const T* s0, T* o, T* sT, double scale, i64 t_len, i64 d, i64 e)
{
    extern __shared__ unsigned char smem[];
    T* qs = (T*)smem;
    T* ks = qs + d;
    T* ls = ks + d;
    i64 n = blockIdx.x;
    int j = threadIdx.x;
    bool active = j < e;
    T S[GATED_MAX_D];
    for (int i = 0; i < d; i++) S[i] = (s0 && active) ? s0[(n * d + i) * e + j] : T(0);
    T a = (T)scale;
    for (i64 t = 0; t < t_len; t++)
    {
        i64 base = (n * t_len + t) * d;
        __syncthreads();
        for (int i = threadIdx.x; i < d; i += blockDim.x) { qs[i] = q[base + i]; ks[i] = kb[base + i]; ls[i] = f_exp(g[base + i]); }
        __syncthreads();
        if (!active) continue;
        T vj = v[(n * t_len + t) * e + j];
        T acc = T(0);
        for (int i = 0; i < d; i++)
        {
            S[i] = ls[i] * S[i] + ks[i] * vj;
            acc += qs[i] * S[i];
        }
        o[(n * t_len + t) * e + j] = a * acc;
    }
    if (active)
        for (int i = 0; i < d; i++) sT[(n * d + i) * e + j] = S[i];
}

// ck: [N, chunks + 1, d, e] checkpoints (S before each chunk); buf: [N, chunk, d, e] states of one chunk.
template <typename T> __device__ void gated_bwd(const T* q, const T* kb, const T* v, const T* g, const T* s0, const T* dO, const T* dsT,
    T* dq, T* dkb, T* dv, T* dg, T* ds0, double scale, i64 t_len, i64 d, i64 e, i64 chunk, T* ck, T* buf)
{
    extern __shared__ unsigned char smem[];
    T* qs = (T*)smem;
    T* ks = qs + d;
    T* ls = ks + d;
    T* rq = ls + d;
    T* rk = rq + d;
    T* rl = rk + d;
    i64 n = blockIdx.x;
    int j = threadIdx.x;
    bool active = j < e;
    i64 chunks = (t_len + chunk - 1) / chunk;
    T* ckn = ck + n * (chunks + 1) * d * e;
    T* bufn = buf + n * chunk * d * e;
    T S[GATED_MAX_D];
    T G[GATED_MAX_D];
    T a = (T)scale;

    // Forward replay: checkpoints at every chunk start.
    for (int i = 0; i < d; i++) S[i] = (s0 && active) ? s0[(n * d + i) * e + j] : T(0);
    for (i64 t = 0; t < t_len; t++)
    {
        if (t % chunk == 0 && active)
            for (int i = 0; i < d; i++) ckn[((t / chunk) * d + i) * e + j] = S[i];
        load_step(kb, g, (n * t_len + t) * d, d, ks, ls);
        if (active) advance(S, ks, ls, v[(n * t_len + t) * e + j], d, (T*)nullptr, e);
    }

    for (int i = 0; i < d; i++) G[i] = (dsT && active) ? dsT[(n * d + i) * e + j] : T(0);
    for (i64 c = chunks - 1; c >= 0; c--)
    {
        i64 t0 = c * chunk, t1 = min(t_len, t0 + chunk);
        // Rebuild S_t for t in [t0, t1) into buf.
        if (active)
            for (int i = 0; i < d; i++) S[i] = ckn[(c * d + i) * e + j];
        for (i64 t = t0; t < t1; t++)
        {
            load_step(kb, g, (n * t_len + t) * d, d, ks, ls);
            if (active) advance(S, ks, ls, v[(n * t_len + t) * e + j], d, bufn + (t - t0) * d * e + j, e);
        }
        for (i64 t = t1 - 1; t >= t0; t--)
        {
            i64 base = (n * t_len + t) * d;
            __syncthreads();
            for (int i = threadIdx.x; i < d; i += blockDim.x)
            {
                qs[i] = q[base + i]; ks[i] = kb[base + i]; ls[i] = f_exp(g[base + i]);
                rq[i] = T(0); rk[i] = T(0); rl[i] = T(0);
            }
            __syncthreads();
            {
                // Every thread takes part (inactive columns with zeros) so the warp reductions are complete.
                T doj = active ? dO[(n * t_len + t) * e + j] : T(0);
                T vj = active ? v[(n * t_len + t) * e + j] : T(0);
                const T* St = bufn + (t - t0) * d * e;
                const T* Sp = t > t0 ? bufn + (t - 1 - t0) * d * e : ckn + c * d * e;
                T dvj = T(0);
                for (int i = 0; i < d; i++)
                {
                    G[i] += a * qs[i] * doj;
                    T st = active ? St[i * e + j] : T(0);
                    T sp = active ? Sp[i * e + j] : T(0);
                    T cq = warp_sum(a * st * doj), ck_ = warp_sum(G[i] * vj), cl = warp_sum(G[i] * sp);
                    if ((threadIdx.x & 31) == 0)
                    {
                        atomicAdd(&rq[i], cq);
                        atomicAdd(&rk[i], ck_);
                        atomicAdd(&rl[i], cl);
                    }
                    dvj += G[i] * ks[i];
                    G[i] *= ls[i];
                }
                if (active) dv[(n * t_len + t) * e + j] = dvj;
            }
            __syncthreads();
            for (int i = threadIdx.x; i < d; i += blockDim.x)
            {
                dq[base + i] = rq[i];
                dkb[base + i] = rk[i];
                dg[base + i] = ls[i] * rl[i];
            }
        }
    }
    if (ds0 && active)
        for (int i = 0; i < d; i++) ds0[(n * d + i) * e + j] = G[i];
}

#define GATED(SN, T) \
    extern "C" __global__ void gated_fwd_##SN(const T* q, const T* kb, const T* v, const T* g, const T* s0, T* o, T* sT, double scale, i64 t, i64 d, i64 e) \
    { gated_fwd(q, kb, v, g, s0, o, sT, scale, t, d, e); } \
    extern "C" __global__ void gated_bwd_##SN(const T* q, const T* kb, const T* v, const T* g, const T* s0, const T* dO, const T* dsT, \
        T* dq, T* dkb, T* dv, T* dg, T* ds0, double scale, i64 t, i64 d, i64 e, i64 chunk, T* ck, T* buf) \
    { gated_bwd(q, kb, v, g, s0, dO, dsT, dq, dkb, dv, dg, ds0, scale, t, d, e, chunk, ck, buf); }

GATED(f32, float)
GATED(f64, double)
