// Chunked gated linear attention (SPEC §1, fla chunk_gla semantics; the same algorithm as the CPU's
// GatedAttentionKernel) on q, kbar, g [N, T, d], v [N, T, e], states [N, d, e]:
//   S_t = diag(exp(g_t)) S_{t−1} + k̄_t v_tᵀ,   o_t = α S_tᵀ q_t.
// Tokens are cut into chunks of CH = 64; G is the log-decay accumulated inside a chunk (G_0 = g_0).
//   gated_cumsum   G and a per-chunk flag: 1 when every |G| ≤ FACTOR_LIMIT, so exp(G_t − G_s) may be
//                  split as exp(G_t)·exp(−G_s) (no factor overflows); otherwise the pairwise form runs.
//   gated_scan     the state at every chunk boundary, sequential over chunks, one block per 64×64 tile
//                  of the state: forward  S ← diag(e^{G_last}) S + (k̄ ⊙ e^{G_last − G})ᵀ V,
//                  reverse (state gradients)  R ← diag(e^{G_last}) R + α (q ⊙ e^G)ᵀ dO.
//   gated_out      one block per chunk: A = mask(q_t·(k̄_s ⊙ e^{G_t − G_s})), o = α[(q ⊙ e^G) S + A V].
//   gated_bwd      one block per chunk: dv = α Aᵀ dO + (k̄ ⊙ e^{G_last − G}) R,
//                  dq = α[e^G ⊙ (dO Sᵀ) + intra], dk̄ = α intraᵀ + e^{G_last − G} ⊙ (V Rᵀ) with
//                  dA = mask(dO Vᵀ), and the chunk-local reverse sum of q ⊙ dq − k̄ ⊙ dk̄ (for dg; skipped
//                  when dg is null, as in the additive backward, which needs no dg).
//   gated_dg_carry adds to dg the sums of later chunks and rowsum(dS_T ⊙ S_T).
// Every exponent evaluated is ≤ 0, or bounded by FACTOR_LIMIT in the factored form. Matrix products
// run on 64×64 tiles in shared memory: exact fp32/fp64 FMA (Simt), or TF32 tensor cores (mma.sync
// m16n8k8, fp32 accumulation) in the *_tf32 kernels.
typedef long long i64;

#define CH 64                 // chunk length (tokens)
#define NT 256                // threads per block
#define KS 32                 // depth of one staged product slice
#define LDS (KS + 4)          // leading dimension of a CH × KS slice
#define LDT (CH + 4)          // leading dimension of a 64-wide tile
#define FACTOR_LIMIT 40.0

__device__ __forceinline__ float f_exp(float x) { return expf(x); }
__device__ __forceinline__ double f_exp(double x) { return exp(x); }

// A 64×64 accumulator spread over the 256 threads: thread (ty, tx) holds rows ty + 16a, columns tx + 16b.
template <typename T> struct Simt
{
    T c[4][4];
    __device__ void zero()
    {
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) c[a][b] = T(0);
    }
    // C += A·B over K, A(m, k) = AT ? a[k·lda + m] : a[m·lda + k], B(k, n) = BT ? b[n·ldb + k] : b[k·ldb + n].
    template <bool AT, bool BT> __device__ void mma(const T* a, int lda, const T* b, int ldb, int K)
    {
        int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
        for (int k = 0; k < K; k++)
        {
            T av[4], bv[4];
            for (int i = 0; i < 4; i++) av[i] = AT ? a[k * lda + ty + 16 * i] : a[(ty + 16 * i) * lda + k];
            for (int j = 0; j < 4; j++) bv[j] = BT ? b[(tx + 16 * j) * ldb + k] : b[k * ldb + tx + 16 * j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) c[i][j] = fma(av[i], bv[j], c[i][j]);
        }
    }
    // Calls f(row, column, value&) for every element this thread holds.
    template <typename F> __device__ void each(F f)
    {
        int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) f(ty + 16 * a, tx + 16 * b, c[a][b]);
    }
};

__device__ __forceinline__ unsigned to_tf32(float x)
{
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
}

// The same tile on TF32 tensor cores: warp w owns rows 16(w mod 4) … +16 and columns 32(w / 4) … +32 as
// four m16n8 accumulators (PTX fragment layout of mma.m16n8k8).
struct Tf32
{
    float c[4][4];
    __device__ void zero()
    {
        for (int j = 0; j < 4; j++)
            for (int r = 0; r < 4; r++) c[j][r] = 0.f;
    }
    template <bool AT, bool BT> __device__ void mma(const float* a, int lda, const float* b, int ldb, int K)
    {
        int w = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
        int m0 = (w & 3) * 16, n0 = (w >> 2) * 32;
        for (int k = 0; k < K; k += 8)
        {
#define AE(m, kk) (AT ? a[(kk) * lda + (m)] : a[(m) * lda + (kk)])
#define BE(kk, n) (BT ? b[(n) * ldb + (kk)] : b[(kk) * ldb + (n)])
            unsigned a0 = to_tf32(AE(m0 + g, k + t)), a1 = to_tf32(AE(m0 + g + 8, k + t));
            unsigned a2 = to_tf32(AE(m0 + g, k + t + 4)), a3 = to_tf32(AE(m0 + g + 8, k + t + 4));
            for (int j = 0; j < 4; j++)
            {
                int n = n0 + 8 * j + g;
                unsigned b0 = to_tf32(BE(k + t, n)), b1 = to_tf32(BE(k + t + 4, n));
                asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                    : "+f"(c[j][0]), "+f"(c[j][1]), "+f"(c[j][2]), "+f"(c[j][3])
                    : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
            }
#undef AE
#undef BE
        }
    }
    template <typename F> __device__ void each(F f)
    {
        int w = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
        int m0 = (w & 3) * 16, n0 = (w >> 2) * 32;
        for (int j = 0; j < 4; j++)
            for (int r = 0; r < 4; r++) f(m0 + g + (r >= 2 ? 8 : 0), n0 + 8 * j + 2 * t + (r & 1), c[j][r]);
    }
};

template <typename T, bool TC> struct AccOf { typedef Simt<T> type; };
template <> struct AccOf<float, true> { typedef Tf32 type; };

// Copies a ROWS × COLS tile into shared memory (row r at dst + r·ld): every value f(r, c) is loaded first, then
// all are stored, so each thread has ROWS·COLS/NT global loads in flight at once.
template <int ROWS, int COLS, typename T, typename F> __device__ __forceinline__ void stage(T* dst, int ld, F f)
{
    constexpr int ITEMS = ROWS * COLS / NT;
    T r[ITEMS];
#pragma unroll
    for (int u = 0; u < ITEMS; u++) { int p = threadIdx.x + u * NT; r[u] = f(p / COLS, p % COLS); }
#pragma unroll
    for (int u = 0; u < ITEMS; u++) { int p = threadIdx.x + u * NT; dst[(p / COLS) * ld + p % COLS] = r[u]; }
}

// Two tiles of the same shape staged together (all loads of both before any store).
template <int ROWS, int COLS, typename T, typename F, typename H> __device__ __forceinline__ void stage2(T* d1, int ld1, F f1, T* d2, int ld2, H f2)
{
    constexpr int ITEMS = ROWS * COLS / NT;
    T r1[ITEMS], r2[ITEMS];
#pragma unroll
    for (int u = 0; u < ITEMS; u++) { int p = threadIdx.x + u * NT; r1[u] = f1(p / COLS, p % COLS); r2[u] = f2(p / COLS, p % COLS); }
#pragma unroll
    for (int u = 0; u < ITEMS; u++)
    {
        int p = threadIdx.x + u * NT;
        d1[(p / COLS) * ld1 + p % COLS] = r1[u];
        d2[(p / COLS) * ld2 + p % COLS] = r2[u];
    }
}

// G (log-decay accumulated inside each chunk) and flag[n, c] = 1 when the chunk may use the factored form.
template <typename T> __device__ void gated_cumsum(const T* g, T* G, int* flag, i64 tn, i64 d, i64 chunks)
{
    __shared__ int ok;
    i64 c = blockIdx.x, n = blockIdx.y, t0 = c * CH;
    int L = (int)min((i64)CH, tn - t0);
    if (threadIdx.x == 0) ok = 1;
    __syncthreads();
    for (i64 i = threadIdx.x; i < d; i += NT)
    {
        T s = T(0);
        bool fine = true;
        for (int l = 0; l < L; l++)
        {
            i64 at = (n * tn + t0 + l) * d + i;
            s += g[at];
            G[at] = s;
            fine = fine && fabs((double)s) <= FACTOR_LIMIT;
        }
        if (!fine) ok = 0;
    }
    __syncthreads();
    if (threadIdx.x == 0) flag[n * chunks + c] = ok;
}

// States at chunk boundaries for the 64×64 tile (rows i0…, columns j0…) of sequence n. Forward: x = k̄,
// y = v, states[n, c] = S before chunk c. Reverse: x = q, y = dO, states[n, c] = R after chunk c.
template <typename T, bool TC> __device__ void gated_scan(const T* x, const T* y, const T* G, double alpha, const T* init, T* states, T* fin,
    i64 tn, i64 d, i64 e, i64 chunks, bool reverse)
{
    extern __shared__ __align__(16) unsigned char smem[];
    T* w = (T*)smem;
    T* yb = w + KS * LDT;
    T* glast = yb + KS * LDT;
    int j0 = blockIdx.x * 64, i0 = blockIdx.y * 64, D = (int)d, E = (int)e;
    i64 n = blockIdx.z;
    typename AccOf<T, TC>::type S;
    S.each([&](int r, int cc, T& v) { i64 i = i0 + r, j = j0 + cc; v = init && i < d && j < e ? init[(n * d + i) * e + j] : T(0); });
    for (i64 step = 0; step < chunks; step++)
    {
        i64 c = reverse ? chunks - 1 - step : step, t0 = c * CH;
        int L = (int)min((i64)CH, tn - t0);
        T* st = states + (n * chunks + c) * d * e;
        S.each([&](int r, int cc, T& v) { i64 i = i0 + r, j = j0 + cc; if (i < d && j < e) st[i * e + j] = v; });
        if (threadIdx.x < 64)
        {
            i64 i = i0 + threadIdx.x;
            glast[threadIdx.x] = i < d ? G[(n * tn + t0 + L - 1) * d + i] : T(0);
        }
        __syncthreads();
        const T* xc = x + (n * tn + t0) * d;
        const T* Gc = G + (n * tn + t0) * d;
        const T* yc = y + (n * tn + t0) * e;
        S.each([&](int r, int, T& v) { v *= f_exp(glast[r]); });
        for (int s0 = 0; s0 < CH; s0 += KS)
        {
            stage2<KS, 64>(w, LDT, [&](int ss, int q) {
                int s = s0 + ss, i = i0 + q;
                if (s >= L || i >= D) return T(0);
                T gv = Gc[s * D + i];
                return reverse ? (T)alpha * (xc[s * D + i] * f_exp(gv)) : xc[s * D + i] * f_exp(glast[q] - gv);
            }, yb, LDT, [&](int ss, int q) { int s = s0 + ss, j = j0 + q; return s < L && j < E ? yc[s * E + j] : T(0); });
            __syncthreads();
            S.template mma<true, false>(w, LDT, yb, LDT, KS);
            __syncthreads();
        }
    }
    if (fin) S.each([&](int r, int cc, T& v) { i64 i = i0 + r, j = j0 + cc; if (i < d && j < e) fin[(n * d + i) * e + j] = v; });
}

// Masked intra-chunk scores A[t, s] = Σ_i q_t[i] k̄_s[i] e^{G_t[i] − G_s[i]} (s ≤ t < L, else 0) into A (ld LDT);
// qc, kc, Gc point at the chunk's first token.
template <typename T, bool TC> __device__ void chunk_scores(const T* qc, const T* kc, const T* Gc, bool factor, int L, i64 d,
    T* A, T* bufA, T* bufB)
{
    const int D = (int)d;
    if (factor)
    {
        typename AccOf<T, TC>::type acc;
        acc.zero();
        for (int i0 = 0; i0 < (int)d; i0 += KS)
        {
            stage2<CH, KS>(bufA, LDS, [&](int t, int ii) {
                int i = i0 + ii;
                return t < L && i < d ? qc[t * D + i] * f_exp(Gc[t * D + i]) : T(0);
            }, bufB, LDS, [&](int t, int ii) {
                int i = i0 + ii;
                return t < L && i < d ? kc[t * D + i] * f_exp(-Gc[t * D + i]) : T(0);
            });
            __syncthreads();
            acc.template mma<false, true>(bufA, LDS, bufB, LDS, KS);
            __syncthreads();
        }
        acc.each([&](int t, int s, T& v) { A[t * LDT + s] = s <= t ? v : T(0); });
    }
    else
    {
        int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
        T p[4][4];
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) p[a][b] = T(0);
        for (int i = 0; i < D; i++)
        {
            T qv[4], gq[4], kv[4], gk[4];
            for (int a = 0; a < 4; a++)
            {
                int t = ty + 16 * a;
                qv[a] = t < L ? qc[t * D + i] : T(0);
                gq[a] = t < L ? Gc[t * D + i] : T(0);
                int s = tx + 16 * a;
                kv[a] = s < L ? kc[s * D + i] : T(0);
                gk[a] = s < L ? Gc[s * D + i] : T(0);
            }
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++)
                    if (tx + 16 * b <= ty + 16 * a && ty + 16 * a < L) p[a][b] += qv[a] * kv[b] * f_exp(gq[a] - gk[b]);
        }
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) A[(ty + 16 * a) * LDT + tx + 16 * b] = p[a][b];
    }
    __syncthreads();
}

// acc += X · M over d in slices of KS: X[t, i] = xf(t, i) (CH × d, built while staging), M[i, j] = m[i·e + e0 + j] (d × 64).
template <typename T, typename Acc, typename F> __device__ __forceinline__ void times_state(Acc& acc, F xf, const T* m, int e0, i64 d, i64 e, T* bufA, T* bufB)
{
    const int E = (int)e;
    for (int i0 = 0; i0 < (int)d; i0 += KS)
    {
        stage<CH, KS>(bufA, LDS, [&](int t, int ii) { return i0 + ii < d ? xf(t, i0 + ii) : T(0); });
        stage<KS, 64>(bufB, LDT, [&](int ii, int jj) { int i = i0 + ii, j = e0 + jj; return i < d && j < e ? m[i * E + j] : T(0); });
        __syncthreads();
        acc.template mma<false, false>(bufA, LDS, bufB, LDT, KS);
        __syncthreads();
    }
}

// acc += W · Y over the chunk's tokens: W[t, s] (CH × CH, ld LDT, transposed when WT), Y[s, j] = yf(s, j) (CH × 64, built while staging).
template <bool WT, typename T, typename Acc, typename F> __device__ __forceinline__ void times_tokens(Acc& acc, const T* W, F yf, T* bufB)
{
    for (int s0 = 0; s0 < CH; s0 += KS)
    {
        stage<KS, 64>(bufB, LDT, [&](int ss, int jj) { return yf(s0 + ss, jj); });
        __syncthreads();
        acc.template mma<WT, false>(WT ? W + s0 * LDT : W + s0, LDT, bufB, LDT, KS);
        __syncthreads();
    }
}

// acc += X · Yᵀ over the value dimension e in slices of KS: X[t, j] = xf(t, j), Y[r, j] = yf(r, j) (both CH × e).
template <typename T, typename Acc, typename F, typename H> __device__ __forceinline__ void times_values(Acc& acc, F xf, H yf, i64 e, T* bufA, T* bufB)
{
    for (int j0 = 0; j0 < (int)e; j0 += KS)
    {
        stage2<CH, KS>(bufA, LDS, [&](int t, int jj) { return j0 + jj < e ? xf(t, j0 + jj) : T(0); },
            bufB, LDS, [&](int r, int jj) { return j0 + jj < e ? yf(r, j0 + jj) : T(0); });
        __syncthreads();
        acc.template mma<false, true>(bufA, LDS, bufB, LDS, KS);
        __syncthreads();
    }
}

// One chunk of the output: o = α[(q ⊙ e^G) S + A V], S = h[n, c] the state before the chunk.
template <typename T, bool TC> __device__ void gated_out(const T* __restrict__ q, const T* __restrict__ kb, const T* __restrict__ v,
    const T* __restrict__ G, const int* flag, const T* __restrict__ h, T* __restrict__ o, double alpha, i64 tn, i64 d, i64 e, i64 chunks)
{
    extern __shared__ __align__(16) unsigned char smem[];
    T* A = (T*)smem;
    T* bufA = A + CH * LDT;
    T* bufB = bufA + CH * LDS;
    i64 c = blockIdx.x, n = blockIdx.y, t0 = c * CH, base = n * tn + t0;
    int L = (int)min((i64)CH, tn - t0);
    const int D = (int)d, E = (int)e;
    const T *qc = q + base * d, *kc = kb + base * d, *Gc = G + base * d, *vc = v + base * e;
    chunk_scores<T, TC>(qc, kc, Gc, flag[n * chunks + c] != 0, L, d, A, bufA, bufB);
    const T* hc = h + (n * chunks + c) * d * e;
    for (int e0 = 0; e0 < (int)e; e0 += 64)
    {
        typename AccOf<T, TC>::type acc;
        acc.zero();
        times_state<T>(acc, [&](int t, int i) { return t < L ? qc[t * D + i] * f_exp(Gc[t * D + i]) : T(0); }, hc, e0, d, e, bufA, bufB);
        times_tokens<false, T>(acc, A, [&](int s, int jj) { int j = e0 + jj; return s < L && j < e ? vc[s * E + j] : T(0); }, bufB);
        acc.each([&](int t, int jj, T& val) { if (t < L && e0 + jj < e) o[(base + t) * e + e0 + jj] = (T)alpha * val; });
    }
}

// One chunk of the backward (see the file header); R = dh[n, c] is the gradient of the state after the chunk.
template <typename T, bool TC> __device__ void gated_bwd(const T* __restrict__ q, const T* __restrict__ kb, const T* __restrict__ v,
    const T* __restrict__ G, const int* flag, const T* __restrict__ h, const T* __restrict__ dh, const T* __restrict__ dO,
    const T* dsT, const T* sT, T* __restrict__ dq, T* __restrict__ dkb, T* __restrict__ dv, T* __restrict__ dg, T* tot,
    double alpha, i64 tn, i64 d, i64 e, i64 chunks)
{
    typedef typename AccOf<T, TC>::type Acc;
    extern __shared__ __align__(16) unsigned char smem[];
    T* A = (T*)smem;
    T* dA = A + CH * LDT;
    T* X = dA + CH * LDT;
    T* buf = X + CH * LDT;
    T* bufA = buf;
    T* bufB = buf + CH * LDS;
    i64 c = blockIdx.x, n = blockIdx.y, t0 = c * CH, base = n * tn + t0;
    int L = (int)min((i64)CH, tn - t0);
    bool factor = flag[n * chunks + c] != 0;
    const int D = (int)d, E = (int)e;
    T a = (T)alpha;
    const T *qc = q + base * d, *kc = kb + base * d, *Gc = G + base * d, *vc = v + base * e, *dOc = dO + base * e;
    const T* Gl = Gc + (L - 1) * d;
    const T* Sc = h + (n * chunks + c) * d * e;
    const T* Rc = dh + (n * chunks + c) * d * e;
    chunk_scores<T, TC>(qc, kc, Gc, factor, L, d, A, bufA, bufB);

    // dA = mask(dO Vᵀ)
    {
        Acc acc;
        acc.zero();
        times_values<T>(acc, [&](int t, int j) { return t < L ? dOc[t * E + j] : T(0); }, [&](int s, int j) { return s < L ? vc[s * E + j] : T(0); },
            e, bufA, bufB);
        acc.each([&](int t, int s, T& val) { dA[t * LDT + s] = s <= t ? val : T(0); });
        __syncthreads();
    }

    // dv = Aᵀ (α dO) + (k̄ ⊙ e^{G_last − G}) R
    for (int e0 = 0; e0 < (int)e; e0 += 64)
    {
        Acc acc;
        acc.zero();
        times_tokens<true, T>(acc, A, [&](int t, int jj) { int j = e0 + jj; return t < L && j < e ? a * dOc[t * E + j] : T(0); }, bufB);
        times_state<T>(acc, [&](int s, int i) { return s < L ? kc[s * D + i] * f_exp(Gl[i] - Gc[s * D + i]) : T(0); }, Rc, e0, d, e, bufA, bufB);
        acc.each([&](int s, int jj, T& val) { if (s < L && e0 + jj < e) dv[(base + s) * e + e0 + jj] = val; });
    }

    for (int i0 = 0; i0 < (int)d; i0 += 64)
    {
        // dq = α e^G ⊙ [dO Sᵀ + dA (k̄ ⊙ e^{−G})]  (factored) or α[e^G ⊙ (dO Sᵀ) + pairwise intra]
        {
            Acc acc;
            acc.zero();
            times_values<T>(acc, [&](int t, int j) { return t < L ? dOc[t * E + j] : T(0); },
                [&](int r, int j) { return i0 + r < d ? Sc[(i0 + r) * E + j] : T(0); }, e, bufA, bufB);
            if (factor)
                times_tokens<false, T>(acc, dA, [&](int s, int ii) { int i = i0 + ii; return s < L && i < d ? kc[s * D + i] * f_exp(-Gc[s * D + i]) : T(0); }, bufB);
            acc.each([&](int t, int ii, T& val) { X[t * LDT + ii] = val; });
            __syncthreads();
            for (int p = threadIdx.x; p < CH * 64; p += NT)
            {
                int t = p >> 6, ii = p & 63;
                int i = i0 + ii, at = t * D + i;
                T r = T(0);
                if (t < L && i < d)
                {
                    T gt = Gc[at], val = f_exp(gt) * X[t * LDT + ii];
                    if (!factor)
                        for (int s = 0; s <= t; s++) val += dA[t * LDT + s] * kc[s * D + i] * f_exp(gt - Gc[s * D + i]);
                    T dqv = a * val;
                    dq[base * d + at] = dqv;
                    r = qc[at] * dqv;
                }
                X[t * LDT + ii] = r;
            }
            __syncthreads();
        }
        // dk̄ = e^{−G} ⊙ [V (e^{G_last} R)ᵀ + dAᵀ (α q ⊙ e^G)]  (factored) or e^{G_last − G} ⊙ (V Rᵀ) + α pairwise intraᵀ
        {
            Acc acc;
            acc.zero();
            times_values<T>(acc, [&](int s, int j) { return s < L ? vc[s * E + j] : T(0); },
                [&](int r, int j) { int i = i0 + r; return i < d ? (factor ? f_exp(Gl[i]) * Rc[i * E + j] : Rc[i * E + j]) : T(0); }, e, bufA, bufB);
            if (factor)
                times_tokens<true, T>(acc, dA, [&](int t, int ii) { int i = i0 + ii; return t < L && i < d ? a * (qc[t * D + i] * f_exp(Gc[t * D + i])) : T(0); }, bufB);
            acc.each([&](int s, int ii, T& val) { buf[s * LDT + ii] = val; });
            __syncthreads();
            for (int p = threadIdx.x; p < CH * 64; p += NT)
            {
                int s = p >> 6, ii = p & 63;
                int i = i0 + ii, at = s * D + i;
                if (s < L && i < d)
                {
                    T gs = Gc[at], val;
                    if (factor) val = f_exp(-gs) * buf[s * LDT + ii];
                    else
                    {
                        T intra = T(0);
                        for (int t = s; t < L; t++) intra += dA[t * LDT + s] * qc[t * D + i] * f_exp(Gc[t * D + i] - gs);
                        val = f_exp(Gl[i] - gs) * buf[s * LDT + ii] + a * intra;
                    }
                    dkb[base * d + at] = val;
                    X[s * LDT + ii] -= kc[at] * val;
                }
            }
            __syncthreads();
        }
        // chunk-local reverse sums of q ⊙ dq − k̄ ⊙ dk̄; their chunk totals go to tot[n, c]
        if (dg && threadIdx.x < 64 && i0 + threadIdx.x < d)
        {
            i64 i = i0 + threadIdx.x;
            T carry = T(0);
            for (int t = L - 1; t >= 0; t--)
            {
                carry += X[t * LDT + threadIdx.x];
                dg[(base + t) * d + i] = carry;
            }
            tot[(n * (chunks + 1) + c) * d + i] = carry;
        }
        __syncthreads();
    }
    // tot[n, chunks] = rowsum(dS_T ⊙ S_T), the gradient of the final state carried into every dg
    if (dg && c == chunks - 1)
        for (i64 i = threadIdx.x; i < d; i += NT)
        {
            T s = T(0);
            if (dsT)
                for (i64 j = 0; j < e; j++) s += dsT[(n * d + i) * e + j] * sT[(n * d + i) * e + j];
            tot[(n * (chunks + 1) + chunks) * d + i] = s;
        }
}

// dg[n, t, i] += Σ_{c' > chunk(t)} tot[n, c', i] (tot holds chunks + 1 entries per sequence).
template <typename T> __device__ void gated_dg_carry(T* dg, const T* tot, i64 n_seq, i64 tn, i64 d, i64 chunks)
{
    for (i64 p = blockIdx.x * (i64)blockDim.x + threadIdx.x; p < n_seq * chunks * d; p += (i64)gridDim.x * blockDim.x)
    {
        i64 i = p % d, c = (p / d) % chunks, n = p / (d * chunks);
        T carry = T(0);
        for (i64 c2 = c + 1; c2 <= chunks; c2++) carry += tot[(n * (chunks + 1) + c2) * d + i];
        i64 t0 = c * CH, L = min((i64)CH, tn - t0);
        for (i64 l = 0; l < L; l++) dg[(n * tn + t0 + l) * d + i] += carry;
    }
}

#define GATED_COMMON(SN, T) \
    extern "C" __global__ void __launch_bounds__(NT) gated_cumsum_##SN(const T* g, T* G, int* flag, i64 tn, i64 d, i64 chunks) \
    { gated_cumsum(g, G, flag, tn, d, chunks); } \
    extern "C" __global__ void gated_dg_carry_##SN(T* dg, const T* tot, i64 n, i64 tn, i64 d, i64 chunks) \
    { gated_dg_carry(dg, tot, n, tn, d, chunks); }

#define GATED_CHUNKS(SN, T, TC) \
    extern "C" __global__ void __launch_bounds__(NT, 4) gated_scan_##SN(const T* x, const T* y, const T* G, double alpha, const T* init, T* states, T* fin, \
        i64 tn, i64 d, i64 e, i64 chunks, i64 reverse) \
    { gated_scan<T, TC>(x, y, G, alpha, init, states, fin, tn, d, e, chunks, reverse != 0); } \
    extern "C" __global__ void __launch_bounds__(NT, 3) gated_out_##SN(const T* q, const T* kb, const T* v, const T* G, const int* flag, const T* h, T* o, \
        double alpha, i64 tn, i64 d, i64 e, i64 chunks) \
    { gated_out<T, TC>(q, kb, v, G, flag, h, o, alpha, tn, d, e, chunks); } \
    extern "C" __global__ void __launch_bounds__(NT, 3) gated_bwd_##SN(const T* q, const T* kb, const T* v, const T* G, const int* flag, const T* h, \
        const T* dh, const T* dO, const T* dsT, const T* sT, T* dq, T* dkb, T* dv, T* dg, T* tot, double alpha, i64 tn, i64 d, i64 e, i64 chunks) \
    { gated_bwd<T, TC>(q, kb, v, G, flag, h, dh, dO, dsT, sT, dq, dkb, dv, dg, tot, alpha, tn, d, e, chunks); }

GATED_COMMON(f32, float)
GATED_COMMON(f64, double)
GATED_CHUNKS(f32, float, false)
GATED_CHUNKS(tf32, float, true)
GATED_CHUNKS(f64, double, false)
