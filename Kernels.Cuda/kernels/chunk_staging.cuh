// Staging of the chunk kernels' operands through shared memory (gated.cu, which includes this after common.cuh): cp.async
// copies in 16-byte pieces or single elements, bfloat16 pieces widened in place, the operand descriptors (Src) and pipe(),
// which runs a product over 32-deep slices with the next slice's copy in flight. The geometry below is the kernels'.
#pragma once

#define CH 64                 // chunk length (tokens)
#define NT 256                // threads per block
#define KS 32                 // depth of one staged product slice
#define LDS (KS + 4)          // leading dimension of a CH × KS slice
#define LDT (CH + 4)          // leading dimension of a 64-wide tile

// Asynchronous copy of one element global → shared (cp.async, Ampere and newer); !valid fills a zero and reads nothing.
template <typename T> __device__ __forceinline__ void cp_elem(T* dst, const T* src, bool valid)
{
    unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    int bytes = valid ? (int)sizeof(T) : 0;
    if (sizeof(T) == 4) asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" ::"r"(d), "l"(src), "r"(bytes) : "memory");
    else asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;" ::"r"(d), "l"(src), "r"(bytes) : "memory");
}
// 16 bytes global → shared (cp.async.cg); !valid fills zeros.
__device__ __forceinline__ void cp_16(void* dst, const void* src, bool valid)
{
    unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    int bytes = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(d), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void cp_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
__device__ __forceinline__ void cp_wait_1() { asm volatile("cp.async.wait_group 1;" ::: "memory"); }
// Waits until at most N of this thread's latest cp.async groups are still in flight.
template <int N> __device__ __forceinline__ void cp_wait() { asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory"); }

// W consecutive elements of shared memory, 16 bytes at a time when W·sizeof(T) is a multiple of 16.
template <int W, typename T> __device__ __forceinline__ void ldw(const T* p, T* o)
{
    constexpr int U = W * sizeof(T) % 16 == 0 ? 16 / sizeof(T) : 1; // elements per access
#pragma unroll
    for (int w = 0; w < W; w += U)
    {
        if constexpr (U == 4 && sizeof(T) == 4) { float4 v = *(const float4*)(p + w); o[w] = v.x; o[w + 1] = v.y; o[w + 2] = v.z; o[w + 3] = v.w; }
        else if constexpr (U == 2 && sizeof(T) == 8) { double2 v = *(const double2*)(p + w); o[w] = v.x; o[w + 1] = v.y; }
        else o[w] = p[w];
    }
}
template <int W, typename T> __device__ __forceinline__ void stw(T* p, const T* o)
{
    constexpr int U = W * sizeof(T) % 16 == 0 ? 16 / sizeof(T) : 1;
#pragma unroll
    for (int w = 0; w < W; w += U)
    {
        if constexpr (U == 4 && sizeof(T) == 4) *(float4*)(p + w) = make_float4(o[w], o[w + 1], o[w + 2], o[w + 3]);
        else if constexpr (U == 2 && sizeof(T) == 8) *(double2*)(p + w) = make_double2(o[w], o[w + 1]);
        else p[w] = o[w];
    }
}

// A piece of W elements stored as S staged into shared memory of T (sizeof(S) ≤ sizeof(T); T = S: a raw tile): its
// W·sizeof(S) bytes are copied with cp.async as they are, into the top of the piece's place (a narrower S is widened
// there in place, by the thread that copied it: each thread's pieces are disjoint). W = 1 moves one element: 4 or 8
// bytes by cp.async, else by a plain load (widened at once into a wider T).
template <int W, typename S, typename T> __device__ __forceinline__ void cp_piece(T* dst, const S* src, bool valid)
{
    if constexpr (W == 1)
    {
        if constexpr (sizeof(S) == sizeof(T) && sizeof(S) >= 4) cp_elem(dst, src, valid);
        else if constexpr (sizeof(S) == sizeof(T)) *dst = valid ? *src : S(0);
        else *dst = valid ? (T)widen(*src) : T(0);
    }
    else
    {
        constexpr int B = W * sizeof(S), OFF = W * sizeof(T) - B;
        static_assert(B % 16 == 0, "pieces are whole 16-byte copies");
#pragma unroll
        for (int h = 0; h < B / 16; h++) cp_16((unsigned char*)dst + OFF + 16 * h, (const unsigned char*)src + 16 * h, valid);
    }
}
// The W values of a piece staged by cp_piece, as T.
template <int W, typename S, typename T> __device__ __forceinline__ void staged(const T* at, T* x)
{
    if constexpr (W == 1 || sizeof(S) == sizeof(T)) ldw<W>(at, x);
    else
    {
        static_assert(sizeof(S) == 2 && sizeof(T) == 4 && W == 8, "bfloat16 pieces widen to float");
        uint4 u = *(const uint4*)(at + 4);
        unsigned h[4] = { u.x, u.y, u.z, u.w };
#pragma unroll
        for (int w = 0; w < 4; w++)
        {
            x[2 * w] = __uint_as_float(h[w] << 16);
            x[2 * w + 1] = __uint_as_float(h[w] & 0xFFFF0000u);
        }
    }
}
// Elements per piece when every staged piece may move as whole 16-byte copies: 16 bytes of the narrowest type.
template <typename T, typename... S> struct PieceWidth { static constexpr int value = 16 / sizeof(T); };
template <typename T, typename S, typename... R> struct PieceWidth<T, S, R...>
{
    static constexpr int value = (int)(16 / sizeof(S)) > PieceWidth<T, R...>::value ? (int)(16 / sizeof(S)) : PieceWidth<T, R...>::value;
};

// Leading dimension of a staged tile C wide of elements P: C + 4 (16-byte rows), C + 8 for a raw bfloat16 tile.
template <int C, typename P> __device__ __forceinline__ constexpr int tile_ld(const P*) { return sizeof(P) == 2 ? C + 8 : C + 4; }

// Type of a staged tile: the operand's own S when it is Plain and narrower than T (a raw tile: the products read
// bfloat16 as it is), else T.
template <bool RAW, typename S, typename T> struct Staged { typedef T type; };
template <typename S, typename T> struct Staged<true, S, T> { typedef S type; };

// A compile-time int as a value (selects a piece width inside generic lambdas).
template <int V> struct IntC { static constexpr int value = V; };

// Operand of a staged product: element (r, c) of slice sl is x[(r + sl·rs)·ld + c + sl·cs] for r + sl·rs < rows and
// c + sl·cs < cols, zero elsewhere; g, when not null, is read at the same offsets for the operand's factor. x is stored as
// S (T, or bfloat16 widened to T when staged), g as T.
template <typename S, typename T> struct Src { const S* x; const T* g; int ld, rows, cols, rs, cs; };
// Two values of one element (gated_bwd's finishing loads).
template <typename T> struct Pair { T a, b; };
template <typename S, typename T> __device__ __forceinline__ Src<S, T> src(const S* x, const T* g, int ld, int rows, int cols, int rs, int cs)
{
    return Src<S, T>{ x, g, ld, rows, cols, rs, cs };
}
// The operand is the staged value itself (no pass over the stage).
struct Plain
{
    template <typename T> __device__ __forceinline__ T operator()(int, int, T x, T) const { return x; }
};
template <typename M> struct IsPlain { static constexpr bool value = false; };
template <> struct IsPlain<Plain> { static constexpr bool value = true; };

// Calls f(at, r, c, inside) for the pieces of W elements that this thread moves of slice sl of an R × C tile of s:
// at = the piece's place in the staged tile (leading dimension LD), (r, c) its place in the slice, inside = whether it
// lies in the operand. copy_tile and shape_tile walk the same pieces, so the thread that copied a piece shapes it.
template <int W, int R, int C, int LD = C + 4, typename Sr, typename F> __device__ __forceinline__ void each_piece(const Sr& s, int sl, F f)
{
    constexpr int P = C / W;
    const int r0 = sl * s.rs, c0 = sl * s.cs;
#pragma unroll
    for (int u = 0; u < (R * P + NT - 1) / NT; u++)
    {
        int p = threadIdx.x + u * NT;
        if (R * P % NT != 0 && p >= R * P) break;
        int r = p / P, c = (p % P) * W;
        f(r * LD + c, r0 + r, c0 + c, r0 + r < s.rows && c0 + c < s.cols);
    }
}

// Slice sl of an R × C tile of s into bx (and its G into bg when bg is not null) with cp.async in pieces of W elements
// (cp_piece); pieces outside the operand are filled with zeros (a narrower S: only the top of the piece, see shape_tile).
// bx holds T, or S itself for a raw tile.
template <int W, int R, int C, typename S, typename T, typename P> __device__ __forceinline__ void copy_tile(const Src<S, T>& s, int sl, P* bx, T* bg)
{
    each_piece<W, R, C, tile_ld<C>((P*)nullptr)>(s, sl, [&](int at, int r, int c, bool ok) {
        int off = ok ? r * s.ld + c : 0;
        cp_piece<W>(bx + at, s.x + off, ok);
        if (bg) cp_piece<W>(bg + at, s.g + off, ok);
    });
}

// Turns the pieces this thread copied into operands: x ← m(r, c, x, g) with (r, c) the element's place in the operand;
// pieces outside the operand are zero.
template <int W, int R, int C, typename S, typename T, typename M> __device__ __forceinline__ void shape_tile(const Src<S, T>& s, int sl, T* bx,
    const T* bg, M m)
{
    each_piece<W, R, C>(s, sl, [&](int at, int r, int c, bool ok) {
        T x[W], g[W];
        if (!ok)
        {
            if constexpr (W > 1 && sizeof(S) < sizeof(T)) // the copy zeroed only the top of the piece
            {
#pragma unroll
                for (int w = 0; w < W; w++) x[w] = T(0);
                stw<W>(bx + at, x);
            }
            return;
        }
        staged<W, S>(bx + at, x);
        if (bg) ldw<W>(bg + at, g);
        else
#pragma unroll
            for (int w = 0; w < W; w++) g[w] = T(0);
#pragma unroll
        for (int w = 0; w < W; w++) x[w] = m(r, c + w, x[w], g[w]);
        stw<W>(bx + at, x);
    });
}

#define SLOT (CH * LDS)       // one staged tile: CH × KS at LDS or KS × 64 at LDT
#define STAGE (3 * SLOT)      // one stage: tile 1, its G, tile 2
#define LDW (128 + 4)         // leading dimension of a 128-wide tile
#define WIDE_STAGE (2 * SLOT + KS * LDW) // one stage whose tile 2 is KS × 128 (gated_out; gated_bwd's dv when wide)
// Stages of pipe(): two for float (the next slice's copy overlaps the product), one for double (so that gated_bwd fits
// the 163 KiB of an A100).
template <typename T> struct Stages { static constexpr int n = sizeof(T) == 8 ? 1 : 2; };

// n product slices through the stages of shared memory. Slice s is waited for and shaped (m1, m2: raw value and G →
// operand; a bfloat16 operand with a factor is widened there) by the threads that copied it, then one barrier
// (which also ends the product on the stage the next copy overwrites); with two stages the copy of slice s + 1 is issued
// then and overlaps the product of slice s (mul(s, tile 1, tile 2)); with one, slice s is copied first and a second
// barrier follows the product. Tile 1 is R1 × C1 of s1 at leading dimension tile_ld<C1>; tile 2 (when R2 > 0) R2 × C2 of s2;
// mul gets them typed (Staged).
// Tile 2 has no G of its own: when s2.g is not null it is s1.g at the same offsets (same geometry), and m2 reads tile 1's
// (tile 1 then has a factor too: a plain tile 1 stages no G).
// v16: every piece may move as whole 16-byte copies (pieces of PieceWidth elements for both tiles, so that the thread
// that copied a piece of tile 1's G shapes tile 2's piece there). SS: the elements of one stage.
template <int R1, int C1, int R2, int C2, int SS = STAGE, typename T, typename S1, typename S2, typename M1, typename M2, typename Mul>
__device__ __forceinline__ void pipe(int n, T* stage, bool v16, const Src<S1, T>& s1, M1 m1, const Src<S2, T>& s2, M2 m2, Mul mul)
{
    constexpr int V = PieceWidth<T, S1, S2>::value, NS = Stages<T>::n;
    constexpr bool shape1 = !IsPlain<M1>::value, shape2 = !IsPlain<M2>::value;
    typedef typename Staged<!shape1 && sizeof(S1) < sizeof(T), S1, T>::type P1;
    typedef typename Staged<!shape2 && sizeof(S2) < sizeof(T), S2, T>::type P2;
    auto issue = [&](int sl) {
        T* b = stage + (sl % NS) * SS;
        T* g1 = s1.g && shape1 ? b + SLOT : nullptr; // a factor's G (laid out as tile 1's T tile)
        if (v16) copy_tile<V, R1, C1>(s1, sl, (P1*)b, g1);
        else copy_tile<1, R1, C1>(s1, sl, (P1*)b, g1);
        if constexpr (R2 > 0)
        {
            if (v16) copy_tile<V, R2, C2>(s2, sl, (P2*)(b + 2 * SLOT), (T*)nullptr);
            else copy_tile<1, R2, C2>(s2, sl, (P2*)(b + 2 * SLOT), (T*)nullptr);
        }
        cp_commit();
    };
#pragma unroll
    for (int sl = 0; sl < NS - 1; sl++)
        if (sl < n) issue(sl);
        else cp_commit();
    for (int sl = 0; sl < n; sl++)
    {
        if constexpr (NS == 1) issue(sl);
        cp_wait<(NS > 1 ? NS - 2 : 0)>();
        T* b = stage + (sl % NS) * SS;
        const T* g1 = s1.g && shape1 ? b + SLOT : nullptr;
        if constexpr (shape1)
        {
            if (v16) shape_tile<V, R1, C1>(s1, sl, b, g1, m1);
            else shape_tile<1, R1, C1>(s1, sl, b, g1, m1);
        }
        if constexpr (R2 > 0 && shape2)
        {
            const T* g2 = s2.g ? g1 : nullptr;
            if (v16) shape_tile<V, R2, C2>(s2, sl, b + 2 * SLOT, g2, m2);
            else shape_tile<1, R2, C2>(s2, sl, b + 2 * SLOT, g2, m2);
        }
        __syncthreads();
        if constexpr (NS > 1)
        {
            if (sl + NS - 1 < n) issue(sl + NS - 1);
            else cp_commit();
        }
        mul(sl, (const P1*)b, (const P2*)(b + 2 * SLOT));
        if constexpr (NS == 1) __syncthreads();
    }
    if constexpr (NS > 1) __syncthreads();
}

// Pieces of 16 bytes fit every staged operand of a chunk kernel with operands stored as T and S: d and e are multiples of
// PieceWidth<T, S> elements, the rows of both groups start at such multiples and every pointer given is 16-byte aligned.
template <typename T, typename S, typename... P> __device__ __forceinline__ bool pieces16(i64 d, i64 e, Rows kr, Rows vr, P... p)
{
    constexpr int V = PieceWidth<T, S>::value;
    return d % V == 0 && e % V == 0 && kr.aligned(V) && vr.aligned(V) && (... && (((size_t)p & 15) == 0));
}
