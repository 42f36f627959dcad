using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace LightNet.Cpu;

/// <summary>
/// Chunked gated linear attention on the CPU (fla's <c>chunk_gla</c> semantics), forward and closed-form
/// backward. Per chunk of C tokens with cumulative log-decay G (relative to the chunk start):
/// the inter-chunk part uses the carried state, the intra-chunk part a C×C score matrix built from
/// 16-token tiles. Off-diagonal tiles factor <c>exp(G_t − G_s) = exp(G_t − G_r)·exp(G_r − G_s)</c> with r
/// the last token of the earlier tile, diagonal tiles are computed pair by pair: every exponent is ≤ 0,
/// so the algorithm is stable at any length and key magnitude. Work is parallel over batch × heads.
/// </summary>
internal static unsafe class GatedAttentionKernel
{
    private const int Tile = 16;

    private sealed class Workspace<T> : IDisposable where T : unmanaged
    {
        private readonly List<nint> _blocks = [];
        public T* Alloc(long n)
        {
            var p = (T*)NativeMemory.AlignedAlloc((nuint)(Math.Max(1, n) * sizeof(T)), 64);
            NativeMemory.Clear(p, (nuint)(Math.Max(1, n) * sizeof(T)));
            _blocks.Add((nint)p);
            return p;
        }
        public void Dispose()
        {
            foreach (var b in _blocks) NativeMemory.AlignedFree((void*)b);
        }
    }

    private static void MM<T>(T* a, long rsA, long csA, T* b, long rsB, long csB, T* c, long rsC, int m, int n, int k, bool acc)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Gemm.Run(new Gemm.Mat<T>((nint)a, rsA, csA), new Gemm.Mat<T>((nint)b, rsB, csB), new Gemm.Mat<T>((nint)c, rsC, 1), m, n, k, acc, parallel: false);

    private static Span<T> Row<T>(T* p, long row, int len) where T : unmanaged => new(p + row * len, len);

    /// <summary>dst = exp(a − b) over n elements.</summary>
    private static void ExpDiff<T>(T* a, T* b, T* dst, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d = new Span<T>(dst, n);
        TensorPrimitives.Subtract(new ReadOnlySpan<T>(a, n), new ReadOnlySpan<T>(b, n), d);
        TensorPrimitives.Exp(d, d);
    }

    /// <summary>Cumulative log-decay of one chunk and its exponential.</summary>
    private static void ChunkDecay<T>(T* g, int L, int d, T* G, T* eG) where T : unmanaged, IFloatingPointIeee754<T>
    {
        new ReadOnlySpan<T>(g, d).CopyTo(Row(G, 0, d));
        for (int l = 1; l < L; l++) TensorPrimitives.Add(Row(G, l - 1, d), new ReadOnlySpan<T>(g + (long)l * d, d), Row(G, l, d));
        TensorPrimitives.Exp(new ReadOnlySpan<T>(G, L * d), new Span<T>(eG, L * d));
    }

    /// <summary>A[t, s] = Σ_i x_t[i] y_s[i] exp(G_t[i] − G_s[i]) for s ≤ t (0 above the diagonal); A is L×C.</summary>
    private static void Scores<T>(T* A, int C, T* x, T* y, T* G, int L, int d, T* w1, T* w2, T* tmp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        new Span<T>(A, L * C).Clear();
        for (int a0 = 0; a0 < L; a0 += Tile)
        {
            int a1 = Math.Min(L, a0 + Tile);
            for (int t = a0; t < a1; t++)
                for (int s = a0; s <= t; s++)
                {
                    ExpDiff(G + (long)t * d, G + (long)s * d, tmp, d);
                    TensorPrimitives.Multiply(new ReadOnlySpan<T>(x + (long)t * d, d), new ReadOnlySpan<T>(tmp, d), new Span<T>(tmp, d));
                    A[(long)t * C + s] = TensorPrimitives.Dot(new ReadOnlySpan<T>(tmp, d), new ReadOnlySpan<T>(y + (long)s * d, d));
                }
            for (int b0 = 0; b0 < a0; b0 += Tile)
            {
                int b1 = b0 + Tile, r = b1 - 1;
                for (int t = a0; t < a1; t++)
                {
                    ExpDiff(G + (long)t * d, G + (long)r * d, w1 + (long)(t - a0) * d, d);
                    TensorPrimitives.Multiply(Row(w1, t - a0, d), new ReadOnlySpan<T>(x + (long)t * d, d), Row(w1, t - a0, d));
                }
                for (int s = b0; s < b1; s++)
                {
                    ExpDiff(G + (long)r * d, G + (long)s * d, w2 + (long)(s - b0) * d, d);
                    TensorPrimitives.Multiply(Row(w2, s - b0, d), new ReadOnlySpan<T>(y + (long)s * d, d), Row(w2, s - b0, d));
                }
                MM(w1, d, 1, w2, 1, d, A + (long)a0 * C + b0, C, a1 - a0, b1 - b0, d, acc: false);
            }
        }
    }

    /// <summary>out[t, i] += Σ_{s≤t} W[t, s] y_s[i] exp(G_t[i] − G_s[i]).</summary>
    private static void IntraForward<T>(T* outp, T* W, int C, T* y, T* G, int L, int d, T* w1, T* w2, T* tmp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int a0 = 0; a0 < L; a0 += Tile)
        {
            int a1 = Math.Min(L, a0 + Tile);
            for (int t = a0; t < a1; t++)
                for (int s = a0; s <= t; s++)
                {
                    T wts = W[(long)t * C + s];
                    if (wts == T.Zero) continue;
                    ExpDiff(G + (long)t * d, G + (long)s * d, tmp, d);
                    TensorPrimitives.Multiply(new ReadOnlySpan<T>(tmp, d), new ReadOnlySpan<T>(y + (long)s * d, d), new Span<T>(tmp, d));
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(tmp, d), wts, Row(outp, t, d), Row(outp, t, d));
                }
            for (int b0 = 0; b0 < a0; b0 += Tile)
            {
                int b1 = b0 + Tile, r = b1 - 1;
                for (int s = b0; s < b1; s++)
                {
                    ExpDiff(G + (long)r * d, G + (long)s * d, w2 + (long)(s - b0) * d, d);
                    TensorPrimitives.Multiply(Row(w2, s - b0, d), new ReadOnlySpan<T>(y + (long)s * d, d), Row(w2, s - b0, d));
                }
                MM(W + (long)a0 * C + b0, C, 1, w2, d, 1, w1, d, a1 - a0, d, b1 - b0, acc: false);
                for (int t = a0; t < a1; t++)
                {
                    ExpDiff(G + (long)t * d, G + (long)r * d, tmp, d);
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(tmp, d), Row(w1, t - a0, d), Row(outp, t, d), Row(outp, t, d));
                }
            }
        }
    }

    /// <summary>out[s, i] += Σ_{t≥s} W[t, s] x_t[i] exp(G_t[i] − G_s[i]).</summary>
    private static void IntraBackward<T>(T* outp, T* W, int C, T* x, T* G, int L, int d, T* w1, T* w2, T* tmp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int a0 = 0; a0 < L; a0 += Tile)
        {
            int a1 = Math.Min(L, a0 + Tile);
            for (int t = a0; t < a1; t++)
                for (int s = a0; s <= t; s++)
                {
                    T wts = W[(long)t * C + s];
                    if (wts == T.Zero) continue;
                    ExpDiff(G + (long)t * d, G + (long)s * d, tmp, d);
                    TensorPrimitives.Multiply(new ReadOnlySpan<T>(tmp, d), new ReadOnlySpan<T>(x + (long)t * d, d), new Span<T>(tmp, d));
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(tmp, d), wts, Row(outp, s, d), Row(outp, s, d));
                }
            for (int b0 = 0; b0 < a0; b0 += Tile)
            {
                int b1 = b0 + Tile, r = b1 - 1;
                for (int t = a0; t < a1; t++)
                {
                    ExpDiff(G + (long)t * d, G + (long)r * d, w1 + (long)(t - a0) * d, d);
                    TensorPrimitives.Multiply(Row(w1, t - a0, d), new ReadOnlySpan<T>(x + (long)t * d, d), Row(w1, t - a0, d));
                }
                // w2[s − b0] = Σ_t W[t, s] w1[t − a0]  (Wᵀ of the tile times w1)
                MM(W + (long)a0 * C + b0, 1, C, w1, d, 1, w2, d, b1 - b0, d, a1 - a0, acc: false);
                for (int s = b0; s < b1; s++)
                {
                    ExpDiff(G + (long)r * d, G + (long)s * d, tmp, d);
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(tmp, d), Row(w2, s - b0, d), Row(outp, s, d), Row(outp, s, d));
                }
            }
        }
    }

    /// <summary>kt[l] = kb[l] ⊙ exp(G_last − G_l) (the key as seen from the chunk end).</summary>
    private static void KeysAtEnd<T>(T* kb, T* G, int L, int d, T* kt) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int l = 0; l < L; l++)
        {
            ExpDiff(G + (long)(L - 1) * d, G + (long)l * d, kt + (long)l * d, d);
            TensorPrimitives.Multiply(Row(kt, l, d), new ReadOnlySpan<T>(kb + (long)l * d, d), Row(kt, l, d));
        }
    }

    /// <summary>S = diag(eG_last) S + ktᵀ V.</summary>
    private static void AdvanceState<T>(T* S, T* eGlast, T* kt, T* v, int L, int d, int e) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d; i++) TensorPrimitives.Multiply(Row(S, i, e), eGlast[i], Row(S, i, e));
        MM(kt, 1, d, v, e, 1, S, e, d, e, L, acc: true);
    }

    public static void Forward<T>(T* q, T* kb, T* v, T* g, T alpha, T* s0, T* o, T* sT, int N, int Tn, int d, int e, int C)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint pq = (nint)q, pk = (nint)kb, pv = (nint)v, pg = (nint)g, ps0 = (nint)s0, po = (nint)o, psT = (nint)sT;
        Parallelism.For(N, n =>
        {
            using var ws = new Workspace<T>();
            T* G = ws.Alloc((long)C * d), eG = ws.Alloc((long)C * d), Qt = ws.Alloc((long)C * d), A = ws.Alloc((long)C * C);
            T* kt = ws.Alloc((long)C * d), w1 = ws.Alloc((long)Tile * d), w2 = ws.Alloc((long)Tile * d), tmp = ws.Alloc(d);
            T* qn = (T*)pq + (long)n * Tn * d, kn = (T*)pk + (long)n * Tn * d, gn = (T*)pg + (long)n * Tn * d;
            T* vn = (T*)pv + (long)n * Tn * e, on = (T*)po + (long)n * Tn * e, S = (T*)psT + (long)n * d * e;
            if (ps0 != 0) new ReadOnlySpan<T>((T*)ps0 + (long)n * d * e, d * e).CopyTo(new Span<T>(S, d * e));
            else new Span<T>(S, d * e).Clear();
            for (int t0 = 0; t0 < Tn; t0 += C)
            {
                int L = Math.Min(C, Tn - t0);
                T* qc = qn + (long)t0 * d, kc = kn + (long)t0 * d, vc = vn + (long)t0 * e, oc = on + (long)t0 * e;
                ChunkDecay(gn + (long)t0 * d, L, d, G, eG);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(qc, L * d), new ReadOnlySpan<T>(eG, L * d), new Span<T>(Qt, L * d));
                MM(Qt, d, 1, S, e, 1, oc, e, L, e, d, acc: false);
                Scores(A, C, qc, kc, G, L, d, w1, w2, tmp);
                MM(A, C, 1, vc, e, 1, oc, e, L, e, L, acc: true);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(oc, L * e), alpha, new Span<T>(oc, L * e));
                KeysAtEnd(kc, G, L, d, kt);
                AdvanceState(S, eG + (long)(L - 1) * d, kt, vc, L, d, e);
            }
        });
    }

    public static void Backward<T>(T* q, T* kb, T* v, T* g, T alpha, T* s0, T* dO, T* dsT,
        T* dq, T* dkb, T* dv, T* dg, T* ds0, int N, int Tn, int d, int e, int C) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint pq = (nint)q, pk = (nint)kb, pv = (nint)v, pg = (nint)g, ps0 = (nint)s0, pdO = (nint)dO, pdsT = (nint)dsT;
        nint pdq = (nint)dq, pdk = (nint)dkb, pdv = (nint)dv, pdg = (nint)dg, pds0 = (nint)ds0;
        int chunks = (Tn + C - 1) / C;
        Parallelism.For(N, n =>
        {
            using var ws = new Workspace<T>();
            T* G = ws.Alloc((long)C * d), eG = ws.Alloc((long)C * d), Qt = ws.Alloc((long)C * d), A = ws.Alloc((long)C * C), dA = ws.Alloc((long)C * C);
            T* kt = ws.Alloc((long)C * d), w1 = ws.Alloc((long)Tile * d), w2 = ws.Alloc((long)Tile * d), tmp = ws.Alloc(d);
            T* P = ws.Alloc((long)C * d), R = ws.Alloc((long)d * e), carry = ws.Alloc(d), dGrow = ws.Alloc(d);
            T* starts = ws.Alloc((long)(chunks + 1) * d * e);
            T* qn = (T*)pq + (long)n * Tn * d, kn = (T*)pk + (long)n * Tn * d, gn = (T*)pg + (long)n * Tn * d;
            T* vn = (T*)pv + (long)n * Tn * e, dOn = (T*)pdO + (long)n * Tn * e;
            T* dqn = (T*)pdq + (long)n * Tn * d, dkn = (T*)pdk + (long)n * Tn * d, dgn = (T*)pdg + (long)n * Tn * d, dvn = (T*)pdv + (long)n * Tn * e;

            // Pass 1: the state at every chunk start (and the final state).
            if (ps0 != 0) new ReadOnlySpan<T>((T*)ps0 + (long)n * d * e, d * e).CopyTo(new Span<T>(starts, d * e));
            for (int c = 0; c < chunks; c++)
            {
                int t0 = c * C, L = Math.Min(C, Tn - t0);
                T* S = starts + (long)(c + 1) * d * e;
                new ReadOnlySpan<T>(starts + (long)c * d * e, d * e).CopyTo(new Span<T>(S, d * e));
                ChunkDecay(gn + (long)t0 * d, L, d, G, eG);
                KeysAtEnd(kn + (long)t0 * d, G, L, d, kt);
                AdvanceState(S, eG + (long)(L - 1) * d, kt, vn + (long)t0 * e, L, d, e);
            }

            // Reverse pass. R = gradient of the state at the current chunk end.
            new Span<T>(carry, d).Clear();
            if (pdsT != 0)
            {
                T* dS = (T*)pdsT + (long)n * d * e;
                new ReadOnlySpan<T>(dS, d * e).CopyTo(new Span<T>(R, d * e));
                T* Sfin = starts + (long)chunks * d * e;
                for (int i = 0; i < d; i++) carry[i] = TensorPrimitives.Dot(new ReadOnlySpan<T>(dS + (long)i * e, e), new ReadOnlySpan<T>(Sfin + (long)i * e, e));
            }
            else new Span<T>(R, d * e).Clear();

            for (int c = chunks - 1; c >= 0; c--)
            {
                int t0 = c * C, L = Math.Min(C, Tn - t0);
                T* qc = qn + (long)t0 * d, kc = kn + (long)t0 * d, vc = vn + (long)t0 * e, dOc = dOn + (long)t0 * e;
                T* dqc = dqn + (long)t0 * d, dkc = dkn + (long)t0 * d, dvc = dvn + (long)t0 * e, dgc = dgn + (long)t0 * d;
                T* Sstart = starts + (long)c * d * e;
                ChunkDecay(gn + (long)t0 * d, L, d, G, eG);
                Scores(A, C, qc, kc, G, L, d, w1, w2, tmp);
                // dA[t, s] = dO_t · v_s for s ≤ t.
                MM(dOc, e, 1, vc, 1, e, dA, C, L, L, e, acc: false);
                for (int t = 0; t < L; t++) new Span<T>(dA + (long)t * C + t + 1, C - t - 1).Clear();
                // dv = α Aᵀ dO + kt R
                MM(A, 1, C, dOc, e, 1, dvc, e, L, e, L, acc: false);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(dvc, L * e), alpha, new Span<T>(dvc, L * e));
                KeysAtEnd(kc, G, L, d, kt);
                MM(kt, d, 1, R, e, 1, dvc, e, L, e, d, acc: true);
                // dq = α [eG ⊙ (dO S_startᵀ) + intra]
                MM(dOc, e, 1, Sstart, 1, e, P, d, L, d, e, acc: false);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(P, L * d), new ReadOnlySpan<T>(eG, L * d), new Span<T>(P, L * d));
                IntraForward(P, dA, C, kc, G, L, d, w1, w2, tmp);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(P, L * d), alpha, new Span<T>(dqc, L * d));
                // dk̄ = α intraᵀ + exp(G_last − G) ⊙ (V Rᵀ)
                new Span<T>(dkc, L * d).Clear();
                IntraBackward(dkc, dA, C, qc, G, L, d, w1, w2, tmp);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(dkc, L * d), alpha, new Span<T>(dkc, L * d));
                MM(vc, e, 1, R, 1, e, P, d, L, d, e, acc: false);
                for (int l = 0; l < L; l++)
                {
                    ExpDiff(G + (long)(L - 1) * d, G + (long)l * d, tmp, d);
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(tmp, d), Row(P, l, d), Row(dkc, l, d), Row(dkc, l, d));
                }
                // R ← diag(eG_last) R + α Qtᵀ dO  (Qt = q ⊙ eG)
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(qc, L * d), new ReadOnlySpan<T>(eG, L * d), new Span<T>(Qt, L * d));
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(Qt, L * d), alpha, new Span<T>(Qt, L * d));
                T* eGlast = eG + (long)(L - 1) * d;
                for (int i = 0; i < d; i++) TensorPrimitives.Multiply(Row(R, i, e), eGlast[i], Row(R, i, e));
                MM(Qt, 1, d, dOc, e, 1, R, e, d, e, L, acc: true);
                // dg_t = Σ_{u≥t} (q_u ⊙ dq_u − k̄_u ⊙ dk̄_u)
                for (int l = L - 1; l >= 0; l--)
                {
                    TensorPrimitives.Multiply(new ReadOnlySpan<T>(qc + (long)l * d, d), new ReadOnlySpan<T>(dqc + (long)l * d, d), new Span<T>(dGrow, d));
                    TensorPrimitives.Multiply(new ReadOnlySpan<T>(kc + (long)l * d, d), new ReadOnlySpan<T>(dkc + (long)l * d, d), new Span<T>(tmp, d));
                    TensorPrimitives.Subtract(new ReadOnlySpan<T>(dGrow, d), new ReadOnlySpan<T>(tmp, d), new Span<T>(dGrow, d));
                    TensorPrimitives.Add(new ReadOnlySpan<T>(carry, d), new ReadOnlySpan<T>(dGrow, d), new Span<T>(carry, d));
                    new ReadOnlySpan<T>(carry, d).CopyTo(Row(dgc, l, d));
                }
            }
            if (pds0 != 0) new ReadOnlySpan<T>(R, d * e).CopyTo(new Span<T>((T*)pds0 + (long)n * d * e, d * e));
        });
    }
}
