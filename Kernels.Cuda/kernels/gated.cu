// Chunked gated linear attention (SPEC §1, fla chunk_gla semantics; the same algorithm as the CPU's
// GatedAttentionKernel) on q, kbar, g [N, T, d], v [N, T, e], states [N, d, e] (contiguous). The token rows of the
// key-like operands (q, k̄, g, G and their gradients) are addressed through one Rows, those of v, o, dO, dv through
// another, so heads split from a projection ([B, T, H, dim], N = B·H) are read and written in place:
//   S_t = diag(exp(g_t)) S_{t−1} + k̄_t v_tᵀ,   o_t = α S_tᵀ q_t.
// Tokens are cut into chunks of CH = 64; G is the log-decay accumulated inside a chunk (G_0 = g_0).
//   gated_cumsum   G and a per-chunk flag: 1 when every |G| ≤ FACTOR_LIMIT, so exp(G_t − G_s) may be
//                  split as exp(G_t)·exp(−G_s) (no factor overflows); otherwise the pairwise form runs.
//   gated_scan     the state at every chunk boundary, sequential over chunks, one block per 64×64 tile
//                  of the state: forward  S ← diag(e^{G_last}) S + (k̄ ⊙ e^{G_last − G})ᵀ V (the additive attention gives k
//                  and each chunk's Z_ref, Z_last instead: exp(k − Z_last) and e^{Z_ref − Z_last}),
//                  reverse (state gradients)  R ← diag(e^{G_last}) R + α (q ⊙ e^G)ᵀ dO.
//   gated_out      one block per chunk: A = mask(q_t·(k̄_s ⊙ e^{G_t − G_s})), o = α[(q ⊙ e^G) S + A V]; A may be kept
//                  for gated_bwd, which otherwise computes it again.
//   gated_bwd      one block per chunk: dv = α (Aᵀ dO) + (k̄ ⊙ e^{G_last − G}) R,
//                  dq = α[e^G ⊙ (dO Sᵀ) + intra], dk̄ = α intraᵀ + e^{G_last − G} ⊙ (V Rᵀ) with
//                  dA = mask(dO Vᵀ), and the chunk-local reverse sum of q ⊙ dq − k̄ ⊙ dk̄ (for dg; skipped
//                  when dg is null, as in the additive backward, which needs no dg but asks for dk̄ minus the chunk's
//                  own w instead).
// q, v, dO and o, dq, dv may be stored as bfloat16 (the *_bf16 kernels): staged operands with a factor are widened in
// shared memory, plain ones stay bfloat16 tiles that the products read as they are; all arithmetic is float32.
//   gated_dg_carry adds to dg the sums of later chunks and rowsum(dS_T ⊙ S_T).
// Every exponent evaluated is ≤ 0, or bounded by FACTOR_LIMIT in the factored form. Matrix products
// run on 64×64 tiles in shared memory: exact fp32/fp64 FMA (Simt, Simt4: 4×4 per thread, 128-bit shared
// loads), or TF32 tensor cores (mma.sync m16n8k8, fp32 accumulation) in the *_tf32 kernels, which also take
// their exponentials from ex2.approx. The scan copies half chunks with cp.async into two stage buffers (the
// next half is in flight while one is multiplied); gated_out / gated_bwd copy their 32-deep slices through pipe()
// (16-byte cp.async pieces; the thread that copied a piece applies its factor in place; one barrier per slice, the
// next slice's copy overlapping the current product). The exact kernels give the same bits as one product at a time (every element sums its
// products in order of k).
// The product tiles live in chunk_tiles.cuh, the staging (cp.async pieces, Src, pipe) in chunk_staging.cuh.
#include "common.cuh" // i64, Rows
#include "tensor_core.cuh"
#include "chunk_tiles.cuh"
#include "chunk_staging.cuh"

#define CHUNK_MINB 2          // blocks per multiprocessor of gated_out / gated_bwd (128 registers; gated_bwd's shared memory fits two)
#define SKS 32                // tokens of one scan stage (half a chunk)
#define FACTOR_LIMIT 40.0

// G (log-decay accumulated inside each chunk) and flag[n, c] = 1 when the chunk may use the factored form.
template <typename T> __device__ void gated_cumsum(const T* g, T* G, int* flag, i64 tn, i64 d, i64 chunks, Rows kr)
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
            i64 at = kr.at(n, t0 + l) + i;
            s += g[at];
            G[at] = s;
            fine = fine && fabs((double)s) <= FACTOR_LIMIT;
        }
        if (!fine) ok = 0;
    }
    __syncthreads();
    if (threadIdx.x == 0) flag[n * chunks + c] = ok;
}

template <typename T, bool TC> struct ScanAccOf { typedef Simt4<T> type; };
template <> struct ScanAccOf<float, true> { typedef Tf32 type; };

#define SLD (64 + 4)                  // leading dimension of the scan's 64-wide tiles
#define SCAN_BUF (3 * SKS * SLD + 64)  // one stage: x, G, y (KS tokens × 64) and G of the chunk's last token (log keys: Z_ref in G's first row, Z_last there)

// States at chunk boundaries for the 64×64 tile (rows i0…, columns j0…) of sequence n. Forward: x = k̄,
// y = v, states[n, c] = S before chunk c. Reverse (REV): x = q, y = dO, states[n, c] = R after chunk c. x is stored as X,
// y as Y (T, or bfloat16: x widened when staged, y staged raw and read as it is by the product).
// LK (log keys, the additive attention's forward): x = k itself and zc[n, c] = (Z_ref, Z_last) of every chunk (d each,
// additive.cu): the decayed key k̄ ⊙ e^{G_last − G} is exp(k − Z_last) and e^{G_last} = exp(Z_ref − Z_last), so no G is read.
// Half chunks (SKS tokens) are copied with cp.async (cp_piece) into one of two stage buffers while the other one is
// multiplied; each thread then turns the pieces it copied into the decayed x in place before the product.
// Every loop over a thread's pieces has a fixed trip count (unrolled), and only the chunk's base pointers change from stage
// to stage.
template <typename T, bool TC, bool REV, bool LK, typename X, typename Y> __device__ void gated_scan(const X* __restrict__ x, const Y* __restrict__ y,
    const T* __restrict__ G, const T* __restrict__ zc, double alpha, const T* init, T* states, T* fin, i64 tn, i64 d, i64 e, i64 chunks, Rows kr,
    Rows vr)
{
    static_assert(!(LK && REV), "the reverse scan takes q and G");
    extern __shared__ __align__(16) unsigned char smem[];
    T* buf0 = (T*)smem;
    int j0 = blockIdx.x * 64, i0 = blockIdx.y * 64, D = (int)d, E = (int)e;
    i64 n = blockIdx.z;
    bool vec = !TC && (e & 3) == 0;
    constexpr int V16 = PieceWidth<T, X, Y>::value;
    bool v16 = d % V16 == 0 && e % V16 == 0 && kr.aligned(V16) && vr.aligned(V16) && ((size_t)x & 15) == 0 && ((size_t)y & 15) == 0 &&
        ((size_t)G & 15) == 0 && ((size_t)zc & 15) == 0;
    const int XS = (int)kr.st, YS = (int)vr.st;
    const X* xn = x + kr.at(n, 0);
    const T* Gn = G + kr.at(n, 0);
    const Y* yn = y + vr.at(n, 0);
    typename ScanAccOf<T, TC>::type S;
    S.each([&](int r, int cc, T& v) { i64 i = i0 + r, j = j0 + cc; v = init && i < d && j < e ? init[(n * d + i) * e + j] : T(0); });
    const i64 stages = 2 * chunks;
    auto chunk_of = [&](i64 u) { return REV ? chunks - 1 - (u >> 1) : u >> 1; };
    // y's tile: raw bfloat16 (leading dimension 72) or T (SLD)
    typedef typename Staged<(sizeof(Y) < sizeof(T)), Y, T>::type PY;
    constexpr int YLD = tile_ld<64>((PY*)nullptr);
    // Calls f(ss, q, vi, vj) for this thread's pieces of V elements of a half chunk: ss = the row in the stage's tiles (token
    // s0 + ss of the chunk), q = the column, vi / vj = inside the x / y operand (a token of the chunk, inside d / e).
    auto pieces = [&](auto w, int L, int s0, auto f) {
        constexpr int V = decltype(w)::value, PR = 64 / V;
#pragma unroll
        for (int k = 0; k < SKS * PR / NT; k++)
        {
            int p = threadIdx.x + k * NT, ss = p / PR, q = (p % PR) * V, s = s0 + ss;
            f(ss, q, s < L && i0 + q < D, s < L && j0 + q < E);
        }
    };
    // Copies half chunk u: the x, G and y tiles and G of the chunk's last token (LK: the x and y tiles, Z_last and, in the G
    // tile's first row, Z_ref).
    auto prefetch = [&](i64 u) {
        T* bx = buf0 + (u & 1) * SCAN_BUF;
        T* bG = bx + SKS * SLD;
        T* by = bG + SKS * SLD;
        T* bl = by + SKS * SLD;
        i64 t0 = chunk_of(u) * CH;
        int L = (int)min((i64)CH, tn - t0), s0 = (int)(u & 1) * SKS;
        const X* xc = xn + t0 * XS;
        const T* Gc = Gn + t0 * XS;
        const Y* yc = yn + t0 * YS;
        auto copy = [&](auto w) {
            constexpr int V = decltype(w)::value, PR = 64 / V;
            pieces(w, L, s0, [&](int ss, int q, bool vi, bool vj) {
                int s = s0 + ss, ox = vi ? s * XS + i0 + q : 0, oy = vj ? s * YS + j0 + q : 0, at = ss * SLD + q;
                cp_piece<V>(bx + at, xc + ox, vi);
                if constexpr (!LK) cp_piece<V>(bG + at, Gc + ox, vi);
                cp_piece<V>((PY*)by + ss * YLD + q, yc + oy, vj);
            });
            if (threadIdx.x < PR)
            {
                int q = threadIdx.x * V;
                bool vi = i0 + q < D;
                if constexpr (LK)
                {
                    const T* z = zc + (n * chunks + chunk_of(u)) * 2 * d + (vi ? i0 + q : 0);
                    cp_piece<V>(bl + q, z + d, vi);
                    cp_piece<V>(bG + q, z, vi);
                }
                else cp_piece<V>(bl + q, Gc + (vi ? (L - 1) * XS + i0 + q : 0), vi);
            }
        };
        if (v16) copy(IntC<V16>());
        else copy(IntC<1>());
        cp_commit();
    };
    prefetch(0);
    for (i64 u = 0; u < stages; u++)
    {
        if (u + 1 < stages) prefetch(u + 1);
        else cp_commit();
        cp_wait_1();
        __syncthreads();
        T* bx = buf0 + (u & 1) * SCAN_BUF;
        T* bG = bx + SKS * SLD;
        T* by = bG + SKS * SLD;
        T* bl = by + SKS * SLD;
        i64 c = chunk_of(u), t0 = c * CH;
        int L = (int)min((i64)CH, tn - t0), s0 = (int)(u & 1) * SKS;
        if (s0 == 0)
        {
            T* st = states + ((n * chunks + c) * d + i0) * e + j0;
            if constexpr (TC) S.each([&](int r, int cc, T& v) { if (i0 + r < D && j0 + cc < E) st[r * E + cc] = v; });
            else S.store(st, e, D - i0, E - j0, vec);
            S.each([&](int r, int, T& v) { v *= p_exp<TC>(LK ? bG[r] - bl[r] : bl[r]); });
        }
        // the decayed x (every exponent is ≤ 0: G only falls inside a chunk, and Z_last ≥ k; pieces outside are zero)
        auto shape = [&](auto w) {
            constexpr int V = decltype(w)::value;
            pieces(w, L, s0, [&](int ss, int q, bool vi, bool) {
                int at = ss * SLD + q;
                T xv[V], gv[V], gl[V];
                staged<V, X>(bx + at, xv);
                if constexpr (!LK) ldw<V>(bG + at, gv);
                ldw<V>(bl + q, gl);
#pragma unroll
                for (int k = 0; k < V; k++)
                    if constexpr (LK) xv[k] = !vi ? T(0) : p_exp<TC>(xv[k] - gl[k]);
                    else xv[k] = !vi ? T(0) : REV ? (T)alpha * (xv[k] * p_exp<TC>(gv[k])) : xv[k] * p_exp<TC>(gl[k] - gv[k]);
                stw<V>(bx + at, xv);
            });
        };
        if (v16) shape(IntC<V16>());
        else shape(IntC<1>());
        __syncthreads();
        S.template mma<true, false>(bx, SLD, (const PY*)by, YLD, SKS);
        __syncthreads();
    }
    if (fin)
    {
        if constexpr (TC) S.each([&](int r, int cc, T& v) { i64 i = i0 + r, j = j0 + cc; if (i < d && j < e) fin[(n * d + i) * e + j] = v; });
        else S.store(fin + (n * d + i0) * e + j0, e, D - i0, E - j0, vec);
    }
}

// Masked intra-chunk scores A[t, s] = Σ_i q_t[i] k̄_s[i] e^{G_t[i] − G_s[i]} (s ≤ t < L, else 0) into A (ld LDT);
// qc, kc, Gc point at the chunk's first token, rows ks apart; q is stored as S.
template <typename T, bool TC, typename S> __device__ __forceinline__ void chunk_scores(const S* qc, const T* kc, const T* Gc, int ks, bool factor, int L, i64 d,
    T* A, T* stage, bool v16)
{
    const int D = (int)d;
    if (factor)
    {
        typename AccOf<T, TC>::type acc;
        acc.zero();
        pipe<CH, KS, CH, KS>((D + KS - 1) / KS, stage, v16,
            src(qc, Gc, ks, L, D, 0, KS), [](int, int, T x, T g) { return x * p_exp<TC>(g); },
            src(kc, Gc, ks, L, D, 0, KS), [](int, int, T x, T g) { return x * p_exp<TC>(-g); },
            [&](int, const auto* a, const auto* b) { acc.template mma<false, true>(a, LDS, b, LDS, KS); });
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
                qv[a] = t < L ? (T)widen(qc[t * ks + i]) : T(0);
                gq[a] = t < L ? Gc[t * ks + i] : T(0);
                int s = tx + 16 * a;
                kv[a] = s < L ? kc[s * ks + i] : T(0);
                gk[a] = s < L ? Gc[s * ks + i] : T(0);
            }
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++)
                    if (tx + 16 * b <= ty + 16 * a && ty + 16 * a < L) p[a][b] += qv[a] * kv[b] * p_exp<TC>(gq[a] - gk[b]);
        }
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) A[(ty + 16 * a) * LDT + tx + 16 * b] = p[a][b];
    }
    __syncthreads();
}

// acc += X · M over d in slices of KS: X[t, i] (CH × d, from x), M[i, j] = m[i·e + e0 + j] (d × 64).
template <typename T, typename S, typename Acc, typename XM> __device__ __forceinline__ void times_state(Acc& acc, const Src<S, T>& x, XM xm, const T* m, int e0,
    i64 d, i64 e, T* stage, bool v16)
{
    const int D = (int)d, E = (int)e;
    pipe<CH, KS, KS, 64>((D + KS - 1) / KS, stage, v16, x, xm, src(m + e0, (const T*)nullptr, E, D, E - e0, KS, 0), Plain(),
        [&](int, const auto* a, const auto* b) { acc.template mma<false, false>(a, tile_ld<KS>(a), b, tile_ld<64>(b), KS); });
}

// acc += W · Y over the chunk's tokens: W[t, s] (CH × CH, ld LDT, transposed when WT), Y[s, j] (CH × 64, from y).
template <bool WT, typename T, typename S, typename Acc, typename YM> __device__ __forceinline__ void times_tokens(Acc& acc, const T* W, const Src<S, T>& y, YM ym,
    T* stage, bool v16)
{
    pipe<KS, 64, 0, 0>(CH / KS, stage, v16, y, ym, y, Plain(),
        [&](int sl, const auto* b, const auto*) { int s0 = sl * KS; acc.template mma<WT, false>(WT ? W + s0 * LDT : W + s0, LDT, b, tile_ld<64>(b), KS); });
}

// acc += X · Yᵀ over the value dimension e in slices of KS: X[t, j], Y[r, j] (both CH × e).
template <typename T, typename S1, typename S2, typename Acc, typename XM, typename YM> __device__ __forceinline__ void times_values(Acc& acc,
    const Src<S1, T>& x, XM xm, const Src<S2, T>& y, YM ym, i64 e, T* stage, bool v16)
{
    const int E = (int)e;
    pipe<CH, KS, CH, KS>((E + KS - 1) / KS, stage, v16, x, xm, y, ym,
        [&](int, const auto* a, const auto* b) { acc.template mma<false, true>(a, tile_ld<KS>(a), b, tile_ld<KS>(b), KS); });
}

// The masked scores A of one chunk (ld LDT in shared memory) to / from global memory, 64 × 64 dense: the forward keeps
// them (scores, when not null) for the backward, which then copies them instead of computing them again.
template <typename T> __device__ __forceinline__ void save_scores(const T* A, T* dst)
{
    for (int p = threadIdx.x; p < CH * 16; p += NT)
    {
        int r = p >> 4, cc = (p & 15) * 4;
        T v[4];
        ld4(A + r * LDT + cc, v);
        st4(dst + r * 64 + cc, v);
    }
}
template <typename T> __device__ __forceinline__ void load_scores(const T* src, T* A)
{
    constexpr int V = 16 / sizeof(T), PR = 64 / V;
    for (int p = threadIdx.x; p < CH * PR; p += NT)
    {
        int r = p / PR, cc = (p % PR) * V;
        cp_16(A + r * LDT + cc, src + r * 64 + cc, true);
    }
    cp_commit();
    cp_wait<0>();
    __syncthreads();
}

// One chunk of the output: o = α[(q ⊙ e^G) S + A V], S = h[n, c] the state before the chunk; A into scores[n, c] when
// scores is not null. q, v and o are stored as S (T or bfloat16), the rest as T. V16: every staged piece moves as 16-byte
// copies (pieces16; the kernel entry picks the instantiation).
template <typename T, bool TC, typename S, bool V16> __device__ __forceinline__ void gated_out(const S* __restrict__ q, const T* __restrict__ kb, const S* __restrict__ v,
    const T* __restrict__ G, const int* flag, const T* __restrict__ h, S* __restrict__ o, T* __restrict__ scores, double alpha, i64 tn, i64 d,
    i64 e, i64 chunks, Rows kr, Rows vr)
{
    extern __shared__ __align__(16) unsigned char smem[];
    T* A = (T*)smem;
    T* stage = A + CH * LDT;
    i64 c = blockIdx.x, n = blockIdx.y, t0 = c * CH, kb0 = kr.at(n, t0), vb0 = vr.at(n, t0);
    int L = (int)min((i64)CH, tn - t0);
    const int KR = (int)kr.st, VR = (int)vr.st, D = (int)d, E = (int)e;
    const S *qc = q + kb0, *vc = v + vb0;
    const T *kc = kb + kb0, *Gc = G + kb0;
    S* oc = o + vb0;
    constexpr bool v16 = V16;
    chunk_scores<T, TC>(qc, kc, Gc, KR, flag[n * chunks + c] != 0, L, d, A, stage, v16);
    if (scores) save_scores(A, scores + (n * chunks + c) * CH * 64);
    const T* hc = h + (n * chunks + c) * d * e;
    // 128 value columns at a time: two 64-column accumulators share each staged slice of q ⊙ e^G and of A
    for (int e0 = 0; e0 < E; e0 += 128)
    {
        typename AccOf<T, TC>::type lo, hi;
        lo.zero();
        hi.zero();
        const bool two = E - e0 > 64;
        auto both = [&](const T* a, int lda, const auto* b) {
            lo.template mma<false, false>(a, lda, b, tile_ld<128>(b), KS);
            if (two) hi.template mma<false, false>(a, lda, b + 64, tile_ld<128>(b), KS);
        };
        pipe<CH, KS, KS, 128, WIDE_STAGE>((D + KS - 1) / KS, stage, v16, src(qc, Gc, KR, L, D, 0, KS), [](int, int, T x, T g) { return x * p_exp<TC>(g); },
            src(hc + e0, (const T*)nullptr, E, D, E - e0, KS, 0), Plain(), [&](int, const T* a, const T* b) { both(a, LDS, b); });
        const Src<S, T> vs = src(vc + e0, (const T*)nullptr, VR, L, E - e0, KS, 0);
        pipe<KS, 128, 0, 0, WIDE_STAGE>(CH / KS, stage, v16, vs, Plain(), vs, Plain(), [&](int sl, const auto* b, const auto*) { both(A + sl * KS, LDT, b); });
        auto out = [&](int c0) { return [&, c0](int t, int jj, T& val) { if (t < L && c0 + jj < e) oc[t * VR + c0 + jj] = narrow<S>((T)alpha * val); }; };
        lo.each(out(e0));
        if (two) hi.each(out(e0 + 64));
    }
}

// One chunk of the backward (see the file header); R = dh[n, c] is the gradient of the state after the chunk. Shared
// memory: A, dA, pipe()'s stages (WIDE_STAGE apart with wide) and G of the chunk's last and first tokens (d each, rounded up to 4); once dv is done,
// A holds X of the current 64 features: q ⊙ dq − k̄ ⊙ dk̄ for dg, or for wloc the additive backward's w from the chunk
// alone, w_t = q_t ⊙ dq_t + λ_{t+1} ⊙ w_{t+1} (λ_{t+1} = e^{G_{t+1} − G_t}, nothing after the chunk's last token); not both.
// With wloc (not null) dkb gets dk̄ − w (additive.cu's additive_dk adds what the later chunks carry in and multiplies by k̄),
// wloc the chunk's w_0 and carry the factor e^{G_last − G_0 + G'_0} (G'_0 of the next chunk's first token; 0 for the last
// chunk) that brings in the next chunk's w_0. scores: the forward's A of every chunk, or null (computed here). q, v, dO,
// dq and dv are stored as S (T or bfloat16), the rest as T; w takes dq before rounding. V16: as in gated_out.
template <typename T, bool TC, typename S, bool V16> __device__ __forceinline__ void gated_bwd(const S* __restrict__ q, const T* __restrict__ kb, const S* __restrict__ v,
    const T* __restrict__ G, const int* flag, const T* __restrict__ h, const T* __restrict__ dh, const S* __restrict__ dO,
    const T* dsT, const T* sT, S* __restrict__ dq, T* __restrict__ dkb, S* __restrict__ dv, T* __restrict__ dg, T* tot,
    T* __restrict__ wloc, T* __restrict__ carry, const T* __restrict__ scores, double alpha, i64 tn, i64 d, i64 e, i64 chunks, Rows kr, Rows vr,
    bool wide)
{
    typedef typename AccOf<T, TC>::type Acc;
    extern __shared__ __align__(16) unsigned char smem[];
    T* A = (T*)smem;
    T* dA = A + CH * LDT;
    T* stage = dA + CH * LDT;
    T* Gl = stage + Stages<T>::n * (wide ? WIDE_STAGE : STAGE);
    T* G0 = Gl + ((d + 3) & ~3);
    T* X = A;
    // With wloc, the dq epilogue leaves G of the current 64 features in the stages (free between products; float only, as
    // one double stage is too small) for the w recurrence
    constexpr bool GS = Stages<T>::n > 1;
    T* Gs = stage + CH * LDT;
    // X[t, ii] (and Gs) at xat(t, ii): token-major for dg, whose reverse sums run along tokens; feature-major with a skew of
    // one per 16 tokens for wloc, so that the four segment threads of a feature read different banks (and the epilogues'
    // fragment-ordered writes too)
    auto xat = [&](int t, int ii) { return wloc ? ii * LDT + t + (t >> 4) : t * LDT + ii; };
    const bool keepX = dg || wloc;
    i64 c = blockIdx.x, n = blockIdx.y, t0 = c * CH, kb0 = kr.at(n, t0), vb0 = vr.at(n, t0);
    int L = (int)min((i64)CH, tn - t0);
    bool factor = flag[n * chunks + c] != 0;
    const int D = (int)d, E = (int)e, KR = (int)kr.st, VR = (int)vr.st;
    T a = (T)alpha;
    const S *qc = q + kb0, *vc = v + vb0, *dOc = dO + vb0;
    const T *kc = kb + kb0, *Gc = G + kb0;
    S *dqc = dq + kb0, *dvc = dv + vb0;
    T *dkc = dkb + kb0, *dgc = dg ? dg + kb0 : nullptr;
    const T* Sc = h + (n * chunks + c) * d * e;
    const T* Rc = dh + (n * chunks + c) * d * e;
    constexpr bool v16 = V16;
    // f(row, column, value) for every element of a product tile: from the accumulator's registers when direct, else
    // through shared memory (the stages are free between products) in row order, so that f's global accesses — the
    // pairwise terms read whole columns of the chunk — are coalesced.
    // f also gets in = load(row, column), the global values it reads, loaded first for all of a thread's elements so that
    // the loads are in flight together (f's stores would otherwise keep each load behind the previous element's store).
    auto finish = [&](Acc& acc, bool direct, auto load, auto f) {
        if (direct && sizeof(T) == 8) acc.each([&](int r, int cc, T& val) { f(r, cc, val, load(r, cc)); }); // registers are short in double
        else if (direct)
        {
            decltype(load(0, 0)) in[16];
            int k = 0;
            acc.each([&](int r, int cc, T&) { in[k++] = load(r, cc); });
            k = 0;
            acc.each([&](int r, int cc, T& val) { f(r, cc, val, in[k++]); });
        }
        else
        {
            acc.each([&](int r, int cc, T& val) { stage[r * LDT + cc] = val; });
            __syncthreads();
            for (int p = threadIdx.x; p < CH * 64; p += NT)
            {
                int r = p >> 6, cc = p & 63;
                f(r, cc, stage[r * LDT + cc], load(r, cc));
            }
            __syncthreads();
        }
    };
    for (int i = threadIdx.x; i < D; i += NT)
    {
        Gl[i] = Gc[(L - 1) * KR + i];
        G0[i] = Gc[i];
    }
    __syncthreads();
    if (scores) load_scores(scores + (n * chunks + c) * CH * 64, A);
    else chunk_scores<T, TC>(qc, kc, Gc, KR, factor, L, d, A, stage, v16);

    // dA = mask(dO Vᵀ)
    {
        Acc acc;
        acc.zero();
        times_values<T>(acc, src(dOc, (const T*)nullptr, VR, L, E, 0, KS), Plain(), src(vc, (const T*)nullptr, VR, L, E, 0, KS), Plain(), e,
            stage, v16);
        acc.each([&](int t, int s, T& val) { dA[t * LDT + s] = s <= t ? val : T(0); });
        __syncthreads();
    }

    // dv = α (Aᵀ dO) + (k̄ ⊙ e^{G_last − G}) R; α once on Aᵀ dO, so that dO is staged plain (a bfloat16 dO stays a raw tile).
    // wide (float only; the host asks for it where two blocks of the wide stages fit a multiprocessor): 128 value columns at a
    // time, two 64-column accumulators sharing each staged slice of dO and of k̄ ⊙ e^{G_last − G}, as in gated_out
    auto kdecay = [Gl](int, int i, T x, T g) { return x * p_exp<TC>(Gl[i] - g); };
    auto dv_out = [&](int c0) { return [&, c0](int s, int jj, T& val) { if (s < L && c0 + jj < e) dvc[s * VR + c0 + jj] = narrow<S>(val); }; };
    if (sizeof(T) == 4 && wide)
        for (int e0 = 0; e0 < E; e0 += 128)
        {
            Acc lo, hi;
            lo.zero();
            hi.zero();
            const bool two = E - e0 > 64;
            const Src<S, T> dos = src(dOc + e0, (const T*)nullptr, VR, L, E - e0, KS, 0);
            pipe<KS, 128, 0, 0, WIDE_STAGE>(CH / KS, stage, v16, dos, Plain(), dos, Plain(), [&](int sl, const auto* b, const auto*) {
                lo.template mma<true, false>(A + sl * KS * LDT, LDT, b, tile_ld<128>(b), KS);
                if (two) hi.template mma<true, false>(A + sl * KS * LDT, LDT, b + 64, tile_ld<128>(b), KS);
            });
            lo.each([a](int, int, T& val) { val *= a; });
            hi.each([a](int, int, T& val) { val *= a; });
            pipe<CH, KS, KS, 128, WIDE_STAGE>((D + KS - 1) / KS, stage, v16, src(kc, Gc, KR, L, D, 0, KS), kdecay,
                src(Rc + e0, (const T*)nullptr, E, D, E - e0, KS, 0), Plain(), [&](int, const T* k, const T* r) {
                    lo.template mma<false, false>(k, LDS, r, tile_ld<128>(r), KS);
                    if (two) hi.template mma<false, false>(k, LDS, r + 64, tile_ld<128>(r), KS);
                });
            lo.each(dv_out(e0));
            if (two) hi.each(dv_out(e0 + 64));
        }
    else
        for (int e0 = 0; e0 < E; e0 += 64)
        {
            Acc acc;
            acc.zero();
            times_tokens<true, T>(acc, A, src(dOc + e0, (const T*)nullptr, VR, L, E - e0, KS, 0), Plain(), stage, v16);
            acc.each([a](int, int, T& val) { val *= a; });
            times_state<T>(acc, src(kc, Gc, KR, L, D, 0, KS), kdecay, Rc, e0, d, e, stage, v16);
            acc.each(dv_out(e0));
        }

    for (int i0 = 0; i0 < D; i0 += 64)
    {
        // dq = α e^G ⊙ [dO Sᵀ + dA (k̄ ⊙ e^{−G})]  (factored) or α[e^G ⊙ (dO Sᵀ) + pairwise intra]
        {
            Acc acc;
            acc.zero();
            times_values<T>(acc, src(dOc, (const T*)nullptr, VR, L, E, 0, KS), Plain(), src(Sc + i0 * E, (const T*)nullptr, E, D - i0, E, 0, KS),
                Plain(), e, stage, v16);
            if (factor)
                times_tokens<false, T>(acc, dA, src(kc + i0, Gc + i0, KR, L, D - i0, KS, 0), [](int, int, T x, T g) { return x * p_exp<TC>(-g); },
                    stage, v16);
            finish(acc, factor, [&](int t, int ii) {
                int i = i0 + ii, at = t * KR + i;
                bool in = t < L && i < D;
                return Pair<T>{ in ? Gc[at] : T(0), in && keepX ? (T)widen(qc[at]) : T(0) };
            }, [&](int t, int ii, T val, Pair<T> gq) {
                int i = i0 + ii, at = t * KR + i;
                if (t < L && i < D)
                {
                    T gt = gq.a, x = p_exp<TC>(gt) * val;
                    if (!factor)
                        for (int s = 0; s <= t; s++) x += dA[t * LDT + s] * kc[s * KR + i] * p_exp<TC>(gt - Gc[s * KR + i]);
                    T dqv = a * x;
                    dqc[at] = narrow<S>(dqv);
                    if (keepX) X[xat(t, ii)] = gq.b * dqv;
                    if (GS && wloc) Gs[xat(t, ii)] = gt;
                }
                else if (keepX) X[xat(t, ii)] = T(0);
            });
        }
        // w of these 64 features through the chunk, backwards: four adjacent threads a feature, each a segment of 16 tokens in
        // registers. λ telescopes (λ_{t+1} ⋯ λ_b = e^{G_b − G_t}), so w_t = w'_t + e^{G_b − G_t} W_b with w' the segment's own
        // recurrence and W_b the w at the next segment's first token b; the W of the segments come from shuffles (an affine
        // suffix scan). pipe()'s barriers order the results before the dk̄ epilogue reads them.
        if (wloc)
        {
            __syncthreads();
            const int ii = threadIdx.x >> 2, part = threadIdx.x & 3, i = i0 + ii, a0 = 16 * part, b = a0 + 16;
            const bool fi = i < D;
            T x[16], lam[16], g0, g15;
#pragma unroll
            for (int k = 0; k < 16; k++)
            {
                int t = a0 + k;
                x[k] = X[xat(t, ii)]; // zero past L and D
                lam[k] = fi && t < L ? (GS ? Gs[xat(t, ii)] : Gc[t * KR + i]) : T(0); // G for now
            }
            g0 = lam[0];
            g15 = lam[15];
            T gb = __shfl_down_sync(0xffffffffu, g0, 1, 4); // G_b (the next part's first token)
            const bool open = fi && b < L;                 // some token after the segment lies in the chunk
            // lam[k] = λ_{k+1} = e^{G_{k+1} − G_k} inside the segment (0 past it and past L)
#pragma unroll
            for (int k = 0; k < 16; k++) lam[k] = k < 15 && a0 + k + 1 < L ? p_exp<TC>(lam[k + 1] - lam[k]) : T(0);
            T w = T(0);
#pragma unroll
            for (int k = 15; k >= 0; k--)
            {
                w = x[k] + lam[k] * w;
                x[k] = w;
            }
            T Wa = w, B = open ? p_exp<TC>(gb - g0) : T(0); // W_a = Wa + B·W_b
#pragma unroll
            for (int s = 1; s < 4; s <<= 1)
            {
                T An = __shfl_down_sync(0xffffffffu, Wa, s, 4), Bn = __shfl_down_sync(0xffffffffu, B, s, 4);
                if (part + s < 4) { Wa += B * An; B *= Bn; }
            }
            T Wb = __shfl_down_sync(0xffffffffu, Wa, 1, 4);
            // e^{G_b − G_t} from the segment's last token backwards, one λ at a time (gb is not a G past the chunk)
            T f = open ? p_exp<TC>(gb - g15) : T(0);
#pragma unroll
            for (int k = 15; k >= 0; k--)
            {
                int t = a0 + k;
                if (t < L) X[xat(t, ii)] = x[k] + f * Wb;
                if (k > 0) f *= lam[k - 1];
            }
            if (part == 0 && fi)
            {
                i64 p = (n * chunks + c) * d + i;
                wloc[p] = Wa;
                carry[p] = c + 1 < chunks ? p_exp<TC>(Gl[i] - G0[i] + Gc[L * KR + i]) : T(0);
            }
            if (GS) __syncthreads(); // the next pipe() overwrites Gs
        }
        // dk̄ = e^{−G} ⊙ [V (e^{G_last} R)ᵀ + dAᵀ (α q ⊙ e^G)]  (factored) or e^{G_last − G} ⊙ (V Rᵀ) + α pairwise intraᵀ
        {
            Acc acc;
            acc.zero();
            times_values<T>(acc, src(vc, (const T*)nullptr, VR, L, E, 0, KS), Plain(), src(Rc + i0 * E, (const T*)nullptr, E, D - i0, E, 0, KS),
                [Gl, i0, factor](int r, int, T x, T) { return factor ? p_exp<TC>(Gl[i0 + r]) * x : x; }, e, stage, v16);
            if (factor)
                times_tokens<true, T>(acc, dA, src(qc + i0, Gc + i0, KR, L, D - i0, KS, 0), [a](int, int, T x, T g) { return a * (x * p_exp<TC>(g)); },
                    stage, v16);
            finish(acc, factor, [&](int s, int ii) {
                int i = i0 + ii, at = s * KR + i;
                bool in = s < L && i < D;
                return Pair<T>{ in ? Gc[at] : T(0), in && dg ? kc[at] : T(0) };
            }, [&](int s, int ii, T val, Pair<T> gk) {
                int i = i0 + ii, at = s * KR + i;
                if (s < L && i < D)
                {
                    T gs = gk.a, x;
                    if (factor) x = p_exp<TC>(-gs) * val;
                    else
                    {
                        T intra = T(0);
                        for (int t = s; t < L; t++) intra += dA[t * LDT + s] * (T)widen(qc[t * KR + i]) * p_exp<TC>(Gc[t * KR + i] - gs);
                        x = p_exp<TC>(Gl[i] - gs) * val + a * intra;
                    }
                    dkc[at] = wloc ? x - X[xat(s, ii)] : x;
                    if (dg) X[xat(s, ii)] -= gk.b * x;
                }
            });
        }
        // chunk-local reverse sums of q ⊙ dq − k̄ ⊙ dk̄; their chunk totals go to tot[n, c]
        if (dg)
        {
            __syncthreads();
            if (threadIdx.x < 64 && i0 + threadIdx.x < d)
            {
                i64 i = i0 + threadIdx.x;
                T carry = T(0);
                for (int t = L - 1; t >= 0; t--)
                {
                    carry += X[xat(t, threadIdx.x)];
                    dgc[t * KR + i] = carry;
                }
                tot[(n * (chunks + 1) + c) * d + i] = carry;
            }
            __syncthreads();
        }
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
template <typename T> __device__ void gated_dg_carry(T* dg, const T* tot, i64 n_seq, i64 tn, i64 d, i64 chunks, Rows kr)
{
    for (i64 p = blockIdx.x * (i64)blockDim.x + threadIdx.x; p < n_seq * chunks * d; p += (i64)gridDim.x * blockDim.x)
    {
        i64 i = p % d, c = (p / d) % chunks, n = p / (d * chunks);
        T carry = T(0);
        for (i64 c2 = c + 1; c2 <= chunks; c2++) carry += tot[(n * (chunks + 1) + c2) * d + i];
        i64 t0 = c * CH, L = min((i64)CH, tn - t0);
        for (i64 l = 0; l < L; l++) dg[kr.at(n, t0 + l) + i] += carry;
    }
}

#define GATED_COMMON(SN, T) \
    extern "C" __global__ void __launch_bounds__(NT) gated_cumsum_##SN(const T* g, T* G, int* flag, i64 tn, i64 d, i64 chunks, Rows kr) \
    { gated_cumsum(g, G, flag, tn, d, chunks, kr); } \
    extern "C" __global__ void gated_dg_carry_##SN(T* dg, const T* tot, i64 n, i64 tn, i64 d, i64 chunks, Rows kr) \
    { gated_dg_carry(dg, tot, n, tn, d, chunks, kr); }

// The chunk kernels of one compute type T, product mode TC and storage S of q, v, dO and the outputs o, dq, dv (T, or
// bfloat16); the scan's x is q (S) in reverse, forward k̄ (T), or k (S) when zc is not null (log keys).
#define GATED_CHUNKS(SN, T, TC, S) \
    extern "C" __global__ void __launch_bounds__(NT, SCAN_MINB) gated_scan_##SN(const void* x, const S* y, const T* G, const T* zc, double alpha, \
        const T* init, T* states, T* fin, i64 tn, i64 d, i64 e, i64 chunks, i64 reverse, Rows kr, Rows vr) \
    { \
        if (reverse) gated_scan<T, TC, true, false>((const S*)x, y, G, zc, alpha, init, states, fin, tn, d, e, chunks, kr, vr); \
        else if (zc) gated_scan<T, TC, false, true>((const S*)x, y, G, zc, alpha, init, states, fin, tn, d, e, chunks, kr, vr); \
        else gated_scan<T, TC, false, false>((const T*)x, y, G, zc, alpha, init, states, fin, tn, d, e, chunks, kr, vr); \
    } \
    extern "C" __global__ void __launch_bounds__(NT, CHUNK_MINB) gated_out_##SN(const S* q, const T* kb, const S* v, const T* G, const int* flag, const T* h, \
        S* o, T* scores, double alpha, i64 tn, i64 d, i64 e, i64 chunks, Rows kr, Rows vr) \
    { \
        if (pieces16<T, S>(d, e, kr, vr, q, kb, v, G, h)) gated_out<T, TC, S, true>(q, kb, v, G, flag, h, o, scores, alpha, tn, d, e, chunks, kr, vr); \
        else gated_out<T, TC, S, false>(q, kb, v, G, flag, h, o, scores, alpha, tn, d, e, chunks, kr, vr); \
    } \
    extern "C" __global__ void __launch_bounds__(NT, CHUNK_MINB) gated_bwd_##SN(const S* q, const T* kb, const S* v, const T* G, const int* flag, const T* h, \
        const T* dh, const S* dO, const T* dsT, const T* sT, S* dq, T* dkb, S* dv, T* dg, T* tot, T* wloc, T* carry, const T* scores, double alpha, \
        i64 tn, i64 d, i64 e, i64 chunks, Rows kr, Rows vr, i64 wide) \
    { \
        if (pieces16<T, S>(d, e, kr, vr, q, kb, v, G, h, dh, dO)) \
            gated_bwd<T, TC, S, true>(q, kb, v, G, flag, h, dh, dO, dsT, sT, dq, dkb, dv, dg, tot, wloc, carry, scores, alpha, tn, d, e, chunks, kr, vr, \
                wide != 0); \
        else gated_bwd<T, TC, S, false>(q, kb, v, G, flag, h, dh, dO, dsT, sT, dq, dkb, dv, dg, tot, wloc, carry, scores, alpha, tn, d, e, chunks, kr, vr, \
            wide != 0); \
    }

#define SCAN_MINB 4
GATED_COMMON(f32, float)
GATED_COMMON(f64, double)
GATED_CHUNKS(f32, float, false, float)
GATED_CHUNKS(tf32, float, true, float)
GATED_CHUNKS(f32_bf16, float, false, bf16)
GATED_CHUNKS(tf32_bf16, float, true, bf16)
#undef SCAN_MINB
#define SCAN_MINB 2
GATED_CHUNKS(f64, double, false, double)
