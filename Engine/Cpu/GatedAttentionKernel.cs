using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
        where T : unmanaged, IFloatingPointIeee754<T> => Gemm.Serial(a, rsA, csA, b, rsB, csB, c, rsC, m, n, k, acc);

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

    /// <summary>
    /// Largest exponent the single-factor form of a chunk needs: <c>exp(G_t − G_s) = exp(G_t)·exp(−G_s)</c> is
    /// used only when every |G| in the chunk is at most this, so neither factor can overflow or underflow;
    /// otherwise the tiled form (every exponent ≤ 0) runs.
    /// </summary>
    private const double FactorLimit = 40;

    /// <summary>True when the chunk's cumulative log-decay stays within ±<see cref="FactorLimit"/>.</summary>
    private static bool CanFactor<T>(T* G, int L, int d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var span = new ReadOnlySpan<T>(G, L * d);
        // MaxMagnitude returns the signed element of largest magnitude: take its absolute value.
        return Math.Abs(double.CreateTruncating(TensorPrimitives.MaxMagnitude(span))) <= FactorLimit;
    }

    /// <summary>Single-factor chunk: xe = x ⊙ exp(G), ye = y ⊙ exp(−G) (both L×d).</summary>
    private static void Factor<T>(T* x, T* y, T* G, T* eG, int L, int d, T* xe, T* ye) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = L * d;
        TensorPrimitives.Multiply(new ReadOnlySpan<T>(x, n), new ReadOnlySpan<T>(eG, n), new Span<T>(xe, n));
        TensorPrimitives.Negate(new ReadOnlySpan<T>(G, n), new Span<T>(ye, n));
        TensorPrimitives.Exp(new ReadOnlySpan<T>(ye, n), new Span<T>(ye, n));
        TensorPrimitives.Multiply(new ReadOnlySpan<T>(ye, n), new ReadOnlySpan<T>(y, n), new Span<T>(ye, n));
    }

    /// <summary>Zeroes the strictly upper triangle of an L×C matrix.</summary>
    private static void CausalMask<T>(T* A, int L, int C) where T : unmanaged
    {
        for (int t = 0; t < L; t++) new Span<T>(A + (long)t * C + t + 1, C - t - 1).Clear();
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

    /// <summary>Buffers of one worker and the chunk-level forward/backward bodies shared by the gated and additive drivers.</summary>
    private sealed class Sequence<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly Workspace<T> _ws = new();
        private readonly int _d, _e, _c;
        public readonly T* G, EG, Kb;
        private readonly T* _qt, _a, _dA, _kt, _f, _p, _w1c, _w1, _w2, _tmp;

        public Sequence(int d, int e, int c)
        {
            _d = d; _e = e; _c = c;
            G = _ws.Alloc((long)c * d); EG = _ws.Alloc((long)c * d); Kb = _ws.Alloc((long)c * d);
            _qt = _ws.Alloc((long)c * d); _a = _ws.Alloc((long)c * c); _dA = _ws.Alloc((long)c * c); _kt = _ws.Alloc((long)c * d);
            _f = _ws.Alloc((long)c * d); _p = _ws.Alloc((long)c * d); _w1c = _ws.Alloc((long)c * d);
            _w1 = _ws.Alloc((long)Tile * d); _w2 = _ws.Alloc((long)Tile * d); _tmp = _ws.Alloc(d);
        }

        public T* Alloc(long n) => _ws.Alloc(n);

        private T* _r, _carry, _row, _tmpD, _starts;
        private int _startChunks = -1;
        /// <summary>Backward scratch: the running state gradient R [d, e] and three d-vectors (allocated on first use).</summary>
        public T* R => _r != null ? _r : _r = Alloc((long)_d * _e);
        /// <summary>Backward scratch: the running dg carry [d].</summary>
        public T* Carry => _carry != null ? _carry : _carry = Alloc(_d);
        /// <summary>Backward scratch row [d].</summary>
        public T* RowBuf => _row != null ? _row : _row = Alloc(_d);
        /// <summary>Backward scratch row [d].</summary>
        public T* Tmp => _tmpD != null ? _tmpD : _tmpD = Alloc(_d);
        /// <summary>States at the start of each of <paramref name="chunks"/> chunks and the final one, [(chunks + 1), d, e].</summary>
        public T* Starts(int chunks)
        {
            if (_startChunks != chunks) { _starts = Alloc((long)(chunks + 1) * _d * _e); _startChunks = chunks; }
            return _starts;
        }

        public void Dispose() => _ws.Dispose();

        /// <summary>Fills G from per-token log-decays g (cumulative within the chunk) and EG = exp(G).</summary>
        public void DecayFromGates(T* g, int L) => ChunkDecay(g, L, _d, G, EG);

        /// <summary>Intra-chunk scores A = [x_t·(y_s ⊙ exp(G_t − G_s))] for s ≤ t; returns whether the single-factor form was used (then _qt = x⊙e^G, _f = y⊙e^−G).</summary>
        private bool BuildScores(T* x, T* y, int L)
        {
            if (CanFactor(G, L, _d))
            {
                Factor(x, y, G, EG, L, _d, _qt, _f);
                MM(_qt, _d, 1, _f, 1, _d, _a, _c, L, L, _d, acc: false);
                CausalMask(_a, L, _c);
                return true;
            }
            Scores(_a, _c, x, y, G, L, _d, _w1, _w2, _tmp);
            return false;
        }

        /// <summary>o_chunk = α[(q ⊙ e^G) S + A V]; then S ← diag(e^{G_last}) S + (k̄ ⊙ e^{G_last − G})ᵀ V.</summary>
        public void Forward(T* qc, T* kb, T* vc, T* oc, int L, T alpha, T* S)
        {
            int d = _d, e = _e;
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(qc, L * d), new ReadOnlySpan<T>(EG, L * d), new Span<T>(_qt, L * d));
            MM(_qt, d, 1, S, e, 1, oc, e, L, e, d, acc: false);
            BuildScores(qc, kb, L);
            MM(_a, _c, 1, vc, e, 1, oc, e, L, e, L, acc: true);
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(oc, L * e), alpha, new Span<T>(oc, L * e));
            Advance(kb, vc, L, S);
        }

        /// <summary>S ← diag(e^{G_last}) S + (k̄ ⊙ e^{G_last − G})ᵀ V.</summary>
        public void Advance(T* kb, T* vc, int L, T* S)
        {
            KeysAtEnd(kb, G, L, _d, _kt);
            AdvanceState(S, EG + (long)(L - 1) * _d, _kt, vc, L, _d, _e);
        }

        /// <summary>
        /// Chunk backward: dq, dk̄, dv of the chunk from dO, the state at the chunk start and R (gradient of the
        /// state at the chunk end), then R ← gradient of the state at the chunk start.
        /// </summary>
        public void Backward(T* qc, T* kb, T* vc, T* dOc, T* sStart, int L, T alpha, T* R, T* dqc, T* dkc, T* dvc)
        {
            int d = _d, e = _e, C = _c;
            bool factor = BuildScores(qc, kb, L);
            MM(dOc, e, 1, vc, 1, e, _dA, C, L, L, e, acc: false);
            CausalMask(_dA, L, C);
            // dv = α Aᵀ dO + kt R
            MM(_a, 1, C, dOc, e, 1, dvc, e, L, e, L, acc: false);
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(dvc, L * e), alpha, new Span<T>(dvc, L * e));
            KeysAtEnd(kb, G, L, d, _kt);
            MM(_kt, d, 1, R, e, 1, dvc, e, L, e, d, acc: true);
            // dq = α [e^G ⊙ (dO S_startᵀ) + intra]
            MM(dOc, e, 1, sStart, 1, e, _p, d, L, d, e, acc: false);
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(_p, L * d), new ReadOnlySpan<T>(EG, L * d), new Span<T>(_p, L * d));
            if (factor)
            {
                MM(_dA, C, 1, _f, d, 1, _w1c, d, L, d, L, acc: false);
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(_w1c, L * d), new ReadOnlySpan<T>(EG, L * d), new ReadOnlySpan<T>(_p, L * d), new Span<T>(_p, L * d));
            }
            else IntraForward(_p, _dA, C, kb, G, L, d, _w1, _w2, _tmp);
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(_p, L * d), alpha, new Span<T>(dqc, L * d));
            // dk̄ = α intraᵀ + e^{G_last − G} ⊙ (V Rᵀ)
            if (factor)
            {
                MM(_dA, 1, C, _qt, d, 1, _w1c, d, L, d, L, acc: false);
                TensorPrimitives.Negate(new ReadOnlySpan<T>(G, L * d), new Span<T>(dkc, L * d));
                TensorPrimitives.Exp(new ReadOnlySpan<T>(dkc, L * d), new Span<T>(dkc, L * d));
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(dkc, L * d), new ReadOnlySpan<T>(_w1c, L * d), new Span<T>(dkc, L * d));
            }
            else
            {
                new Span<T>(dkc, L * d).Clear();
                IntraBackward(dkc, _dA, C, qc, G, L, d, _w1, _w2, _tmp);
            }
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(dkc, L * d), alpha, new Span<T>(dkc, L * d));
            MM(vc, e, 1, R, 1, e, _p, d, L, d, e, acc: false);
            for (int l = 0; l < L; l++)
            {
                ExpDiff(G + (long)(L - 1) * d, G + (long)l * d, _tmp, d);
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(_tmp, d), Row(_p, l, d), Row(dkc, l, d), Row(dkc, l, d));
            }
            // R ← diag(e^{G_last}) R + α (q ⊙ e^G)ᵀ dO
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(qc, L * d), new ReadOnlySpan<T>(EG, L * d), new Span<T>(_qt, L * d));
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(_qt, L * d), alpha, new Span<T>(_qt, L * d));
            T* eGlast = EG + (long)(L - 1) * d;
            for (int i = 0; i < d; i++) TensorPrimitives.Multiply(Row(R, i, e), eGlast[i], Row(R, i, e));
            MM(_qt, 1, d, dOc, e, 1, R, e, d, e, L, acc: true);
        }
    }

    public static void Forward<T>(T* q, T* kb, T* v, T* g, T alpha, T* s0, T* o, T* sT, int N, int Tn, int d, int e, int C)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint pq = (nint)q, pk = (nint)kb, pv = (nint)v, pg = (nint)g, ps0 = (nint)s0, po = (nint)o, psT = (nint)sT;
        C = Math.Min(C, Tn); // a sequence shorter than a chunk is one chunk: buffers of its length
        ForSequences(N, () => new Sequence<T>(d, e, C), (seq, n) =>
        {
            T* qn = (T*)pq + (long)n * Tn * d, kn = (T*)pk + (long)n * Tn * d, gn = (T*)pg + (long)n * Tn * d;
            T* vn = (T*)pv + (long)n * Tn * e, on = (T*)po + (long)n * Tn * e, S = (T*)psT + (long)n * d * e;
            InitState(S, (T*)ps0, n, d, e);
            for (int t0 = 0; t0 < Tn; t0 += C)
            {
                int L = Math.Min(C, Tn - t0);
                seq.DecayFromGates(gn + (long)t0 * d, L);
                seq.Forward(qn + (long)t0 * d, kn + (long)t0 * d, vn + (long)t0 * e, on + (long)t0 * e, L, alpha, S);
            }
        });
    }

    /// <summary>
    /// Runs body(worker's buffers, n) for n in [0, N): the sequences are split into a few ranges per thread and each range
    /// reuses one set of buffers, so many short sequences (the lines of a grid) do not pay an allocation each.
    /// </summary>
    private static void ForSequences<T>(int N, Func<Sequence<T>> make, Action<Sequence<T>, int> body) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int ranges = Math.Min(N, 4 * Parallelism.Threads);
        Parallelism.For(ranges, r =>
        {
            using var seq = make();
            for (int n = (int)((long)N * r / ranges), end = (int)((long)N * (r + 1) / ranges); n < end; n++) body(seq, n);
        });
    }

    private static void InitState<T>(T* S, T* s0, int n, int d, int e) where T : unmanaged
    {
        if (s0 != null) new ReadOnlySpan<T>(s0 + (long)n * d * e, d * e).CopyTo(new Span<T>(S, d * e));
        else new Span<T>(S, d * e).Clear();
    }

    public static void Backward<T>(T* q, T* kb, T* v, T* g, T alpha, T* s0, T* dO, T* dsT,
        T* dq, T* dkb, T* dv, T* dg, T* ds0, int N, int Tn, int d, int e, int C) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint pq = (nint)q, pk = (nint)kb, pv = (nint)v, pg = (nint)g, ps0 = (nint)s0, pdO = (nint)dO, pdsT = (nint)dsT;
        nint pdq = (nint)dq, pdk = (nint)dkb, pdv = (nint)dv, pdg = (nint)dg, pds0 = (nint)ds0;
        C = Math.Min(C, Tn); // a sequence shorter than a chunk is one chunk: buffers of its length
        int chunks = (Tn + C - 1) / C;
        ForSequences(N, () => new Sequence<T>(d, e, C), (seq, n) =>
        {
            T* R = seq.R, carry = seq.Carry, row = seq.RowBuf, tmp = seq.Tmp;
            T* starts = seq.Starts(chunks);
            T* qn = (T*)pq + (long)n * Tn * d, kn = (T*)pk + (long)n * Tn * d, gn = (T*)pg + (long)n * Tn * d;
            T* vn = (T*)pv + (long)n * Tn * e, dOn = (T*)pdO + (long)n * Tn * e;
            T* dqn = (T*)pdq + (long)n * Tn * d, dkn = (T*)pdk + (long)n * Tn * d, dgn = (T*)pdg + (long)n * Tn * d, dvn = (T*)pdv + (long)n * Tn * e;

            // Pass 1: the state at every chunk start (and the final state).
            InitState(starts, (T*)ps0, n, d, e);
            for (int c = 0; c < chunks; c++)
            {
                int t0 = c * C, L = Math.Min(C, Tn - t0);
                T* S = starts + (long)(c + 1) * d * e;
                new ReadOnlySpan<T>(starts + (long)c * d * e, d * e).CopyTo(new Span<T>(S, d * e));
                seq.DecayFromGates(gn + (long)t0 * d, L);
                seq.Advance(kn + (long)t0 * d, vn + (long)t0 * e, L, S);
            }

            // Reverse pass; carry accumulates dg_t = Σ_{u≥t} (q_u ⊙ dq_u − k̄_u ⊙ dk̄_u), seeded with the final-state term.
            new Span<T>(carry, d).Clear();
            if (pdsT != 0)
            {
                T* dS = (T*)pdsT + (long)n * d * e;
                new ReadOnlySpan<T>(dS, d * e).CopyTo(new Span<T>(R, d * e));
                RowDots(dS, starts + (long)chunks * d * e, d, e, carry);
            }
            else new Span<T>(R, d * e).Clear();
            for (int c = chunks - 1; c >= 0; c--)
            {
                int t0 = c * C, L = Math.Min(C, Tn - t0);
                T* qc = qn + (long)t0 * d, kc = kn + (long)t0 * d;
                T* dqc = dqn + (long)t0 * d, dkc = dkn + (long)t0 * d, dgc = dgn + (long)t0 * d;
                seq.DecayFromGates(gn + (long)t0 * d, L);
                seq.Backward(qc, kc, vn + (long)t0 * e, dOn + (long)t0 * e, starts + (long)c * d * e, L, alpha, R, dqc, dkc, dvn + (long)t0 * e);
                for (int l = L - 1; l >= 0; l--)
                {
                    TensorPrimitives.Multiply(new ReadOnlySpan<T>(qc + (long)l * d, d), new ReadOnlySpan<T>(dqc + (long)l * d, d), new Span<T>(row, d));
                    TensorPrimitives.Multiply(new ReadOnlySpan<T>(kc + (long)l * d, d), new ReadOnlySpan<T>(dkc + (long)l * d, d), new Span<T>(tmp, d));
                    TensorPrimitives.Subtract(new ReadOnlySpan<T>(row, d), new ReadOnlySpan<T>(tmp, d), new Span<T>(row, d));
                    TensorPrimitives.Add(new ReadOnlySpan<T>(carry, d), new ReadOnlySpan<T>(row, d), new Span<T>(carry, d));
                    new ReadOnlySpan<T>(carry, d).CopyTo(Row(dgc, l, d));
                }
            }
            if (pds0 != 0) new ReadOnlySpan<T>(R, d * e).CopyTo(new Span<T>((T*)pds0 + (long)n * d * e, d * e));
        });
    }

    /// <summary>out[i] = Σ_j a[i, j] b[i, j] for d×e matrices.</summary>
    private static void RowDots<T>(T* a, T* b, int d, int e, T* outp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < d; i++) outp[i] = TensorPrimitives.Dot(new ReadOnlySpan<T>(a + (long)i * e, e), new ReadOnlySpan<T>(b + (long)i * e, e));
    }

    /// <summary>z = logaddexp(a, b) = max(a, b) + log(1 + exp(−|a − b|)), one fused 256-bit pass (scalar tail).</summary>
    private static void LogAddExp<T>(T* a, T* b, T* z, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && typeof(T) == typeof(float))
        {
            float* fa = (float*)a, fb = (float*)b, fz = (float*)z;
            var one = Vector256.Create(1f);
            for (; i <= n - 8; i += 8)
            {
                var va = Vector256.Load(fa + i); var vb = Vector256.Load(fb + i);
                var diff = Vector256.Abs(va - vb);
                var r = Vector256.Max(va, vb) + Vector256.Log(one + Vector256.Exp(-diff));
                r.Store(fz + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated && typeof(T) == typeof(double))
        {
            double* da = (double*)a, db = (double*)b, dz = (double*)z;
            var one = Vector256.Create(1.0);
            for (; i <= n - 4; i += 4)
            {
                var va = Vector256.Load(da + i); var vb = Vector256.Load(db + i);
                var diff = Vector256.Abs(va - vb);
                var r = Vector256.Max(va, vb) + Vector256.Log(one + Vector256.Exp(-diff));
                r.Store(dz + i);
            }
        }
        for (; i < n; i++)
        {
            T m = T.Max(a[i], b[i]);
            z[i] = m + T.Log(T.One + T.Exp(-T.Abs(a[i] - b[i])));
        }
    }

    /// <summary>
    /// Running log-normaliser of one chunk of keys: Z_l = logaddexp(Z_{l−1}, k_l) (Z_0 = k_0 when nothing
    /// precedes), k̄ = exp(k − Z), G = Z_ref − Z with Z_ref the value before the chunk (or Z_0), EG = exp(G).
    /// Writes the chunk's Z rows to <paramref name="zc"/> and leaves the last one in <paramref name="zrun"/>.
    /// </summary>
    private static void AdditivePrep<T>(T* kc, int L, int d, T* zrun, bool hasPrev, T* zc, AdditiveChunk<T> ch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int l = 0; l < L; l++)
        {
            var k = new ReadOnlySpan<T>(kc + (long)l * d, d);
            var z = new Span<T>(zc + (long)l * d, d);
            if (l == 0 && !hasPrev) k.CopyTo(z);
            else LogAddExp(l == 0 ? zrun : zc + (long)(l - 1) * d, kc + (long)l * d, zc + (long)l * d, d);
        }
        RebuildChunk(kc, zc, L, d, hasPrev ? zrun : zc, ch);
        new ReadOnlySpan<T>(zc + (long)(L - 1) * d, d).CopyTo(new Span<T>(zrun, d));
    }

    /// <summary>k̄ = exp(k − Z), G = Z_ref − Z, e^G for one chunk from its Z rows (then expanded for MD-LRPE).</summary>
    private static void RebuildChunk<T>(T* kc, T* zc, int L, int d, T* zref, AdditiveChunk<T> ch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = L * d;
        TensorPrimitives.Subtract(new ReadOnlySpan<T>(kc, n), new ReadOnlySpan<T>(zc, n), new Span<T>(ch.Kb, n));
        TensorPrimitives.Exp(new ReadOnlySpan<T>(ch.Kb, n), new Span<T>(ch.Kb, n));
        for (int l = 0; l < L; l++) TensorPrimitives.Subtract(new ReadOnlySpan<T>(zref, d), new ReadOnlySpan<T>(zc + (long)l * d, d), new Span<T>(ch.G + (long)l * d, d));
        TensorPrimitives.Exp(new ReadOnlySpan<T>(ch.G, n), new Span<T>(ch.EG, n));
        ch.ExpandKeys(L);
    }

    /// <summary>
    /// The d-wide k̄, G, e^G of one chunk of the additive kernels. Without MD-LRPE they are the sequence's own
    /// buffers; with it they are scratch, and <see cref="ExpandKeys"/> writes <c>[k̄ cos Θ, k̄ sin Θ]</c> and the
    /// decays tiled twice into the sequence's 2d-wide buffers (state S is then 2d × e), one chunk at a time.
    /// </summary>
    private sealed class AdditiveChunk<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly Sequence<T> _seq;
        private readonly LrpeKernels.Tables<T>? _lrpe;
        private readonly int _d;
        private readonly T* _q, _dq, _dk;
        public readonly T* Kb, G, EG;
        /// <summary>First token of the current chunk (indexes the angle tables).</summary>
        public int T0;

        public AdditiveChunk(Sequence<T> seq, LrpeKernels.Tables<T>? lrpe, int d, int c)
        {
            _seq = seq; _lrpe = lrpe; _d = d;
            if (lrpe == null) { Kb = seq.Kb; G = seq.G; EG = seq.EG; return; }
            Kb = seq.Alloc((long)c * d); G = seq.Alloc((long)c * d); EG = seq.Alloc((long)c * d);
            _q = seq.Alloc((long)c * 2 * d); _dq = seq.Alloc((long)c * 2 * d); _dk = seq.Alloc((long)c * 2 * d);
        }

        /// <summary>Feature width of the state: d, or 2d with MD-LRPE.</summary>
        public static int Width(int d, bool lrpe) => lrpe ? 2 * d : d;

        public void ExpandKeys(int L)
        {
            if (_lrpe == null) return;
            int d = _d;
            _lrpe.Expand(Kb, T0, L, _seq.Kb);
            Twice(G, _seq.G, L, d);
            Twice(EG, _seq.EG, L, d);
        }

        /// <summary>dst[l] = [src[l], src[l]] (the decay of channel i applies to channels i and i + d).</summary>
        private static void Twice(T* src, T* dst, int L, int d)
        {
            for (int l = 0; l < L; l++)
            {
                var row = new ReadOnlySpan<T>(src + (long)l * d, d);
                row.CopyTo(new Span<T>(dst + (long)l * 2 * d, d));
                row.CopyTo(new Span<T>(dst + (long)l * 2 * d + d, d));
            }
        }

        /// <summary>The chunk's queries as the sequence sees them (expanded with MD-LRPE).</summary>
        public T* Queries(T* qc, int L)
        {
            if (_lrpe == null) return qc;
            _lrpe.Expand(qc, T0, L, _q);
            return _q;
        }

        /// <summary>Where the sequence writes dq and dk̄ of the chunk (2d-wide scratch with MD-LRPE).</summary>
        public (nint Dq, nint Dk) GradientTargets(T* dqc, T* dkc) => _lrpe == null ? ((nint)dqc, (nint)dkc) : ((nint)_dq, (nint)_dk);

        /// <summary>Folds 2d-wide dq and dk̄ back to d channels (the adjoint of the expansion).</summary>
        public void ReduceGradients(T* dqc, T* dkc, int L)
        {
            if (_lrpe == null) return;
            _lrpe.Reduce(_dq, T0, L, dqc);
            _lrpe.Reduce(_dk, T0, L, dkc);
        }
    }

    /// <summary>
    /// Fused causal additive attention forward: o, final state S and final log-normaliser Z. With
    /// <paramref name="angles"/> [Tn, d] the MD-LRPE expansion is applied to q and k̄ chunk by chunk (state 2d × e).
    /// </summary>
    public static void AdditiveForward<T>(T* q, T* k, T* v, T* angles, T alpha, T* s0, T* z0, T* o, T* sT, T* zT, int N, int Tn, int d, int e, int C)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var lrpe = angles == null ? null : new LrpeKernels.Tables<T>(angles, Tn, d);
        int D = AdditiveChunk<T>.Width(d, lrpe != null);
        nint pq = (nint)q, pk = (nint)k, pv = (nint)v, ps0 = (nint)s0, pz0 = (nint)z0, po = (nint)o, psT = (nint)sT, pzT = (nint)zT;
        Parallelism.For(N, n =>
        {
            using var seq = new Sequence<T>(D, e, C);
            var ch = new AdditiveChunk<T>(seq, lrpe, d, C);
            T* zc = seq.Alloc((long)C * d);
            T* qn = (T*)pq + (long)n * Tn * d, kn = (T*)pk + (long)n * Tn * d;
            T* vn = (T*)pv + (long)n * Tn * e, on = (T*)po + (long)n * Tn * e, S = (T*)psT + (long)n * D * e, zrun = (T*)pzT + (long)n * d;
            InitState(S, (T*)ps0, n, D, e);
            bool hasPrev = pz0 != 0;
            if (hasPrev) new ReadOnlySpan<T>((T*)pz0 + (long)n * d, d).CopyTo(new Span<T>(zrun, d));
            for (int t0 = 0; t0 < Tn; t0 += C)
            {
                int L = Math.Min(C, Tn - t0);
                ch.T0 = t0;
                AdditivePrep(kn + (long)t0 * d, L, d, zrun, hasPrev, zc, ch);
                hasPrev = true;
                seq.Forward(ch.Queries(qn + (long)t0 * d, L), seq.Kb, vn + (long)t0 * e, on + (long)t0 * e, L, alpha, S);
            }
        });
    }

    /// <summary>
    /// Fused causal additive attention backward in closed form: the gated chunk backward gives dq, dk̄, dv (folded
    /// back to d channels with MD-LRPE); then <c>w_t = q_t⊙dq_t + λ_{t+1}⊙w_{t+1}</c> and <c>dk_t = k̄_t ⊙ (dk̄_t − w_t)</c>.
    /// With an initial state, <c>dS_0</c> and <c>dZ_0 = rowsum(S_0⊙dS_0) − e^{Z_0 − Z_1}⊙w_1</c> (rows i and i + d summed with MD-LRPE).
    /// </summary>
    public static void AdditiveBackward<T>(T* q, T* k, T* v, T* angles, T alpha, T* s0, T* z0, T* dO, T* dq, T* dk, T* dv, T* ds0, T* dz0, int N, int Tn, int d, int e, int C)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var lrpe = angles == null ? null : new LrpeKernels.Tables<T>(angles, Tn, d);
        int D = AdditiveChunk<T>.Width(d, lrpe != null);
        nint pq = (nint)q, pk = (nint)k, pv = (nint)v, ps0 = (nint)s0, pz0 = (nint)z0, pdO = (nint)dO;
        nint pdq = (nint)dq, pdk = (nint)dk, pdv = (nint)dv, pds0 = (nint)ds0, pdz0 = (nint)dz0;
        int chunks = (Tn + C - 1) / C;
        Parallelism.For(N, n =>
        {
            using var seq = new Sequence<T>(D, e, C);
            var ch = new AdditiveChunk<T>(seq, lrpe, d, C);
            T* R = seq.Alloc((long)D * e), w = seq.Alloc(d), tmp = seq.Alloc(D), zrun = seq.Alloc(d);
            T* starts = seq.Alloc((long)(chunks + 1) * D * e), zall = seq.Alloc((long)Tn * d);
            T* qn = (T*)pq + (long)n * Tn * d, kn = (T*)pk + (long)n * Tn * d, vn = (T*)pv + (long)n * Tn * e, dOn = (T*)pdO + (long)n * Tn * e;
            T* dqn = (T*)pdq + (long)n * Tn * d, dkn = (T*)pdk + (long)n * Tn * d, dvn = (T*)pdv + (long)n * Tn * e;
            T* z0n = pz0 == 0 ? null : (T*)pz0 + (long)n * d;

            InitState(starts, (T*)ps0, n, D, e);
            bool hasPrev = z0n != null;
            if (hasPrev) new ReadOnlySpan<T>(z0n, d).CopyTo(new Span<T>(zrun, d));
            for (int c = 0; c < chunks; c++)
            {
                int t0 = c * C, L = Math.Min(C, Tn - t0);
                ch.T0 = t0;
                AdditivePrep(kn + (long)t0 * d, L, d, zrun, hasPrev, zall + (long)t0 * d, ch);
                hasPrev = true;
                T* S = starts + (long)(c + 1) * D * e;
                new ReadOnlySpan<T>(starts + (long)c * D * e, D * e).CopyTo(new Span<T>(S, D * e));
                seq.Advance(seq.Kb, vn + (long)t0 * e, L, S);
            }

            new Span<T>(R, D * e).Clear();
            new Span<T>(w, d).Clear();
            for (int c = chunks - 1; c >= 0; c--)
            {
                int t0 = c * C, L = Math.Min(C, Tn - t0);
                ch.T0 = t0;
                // Rebuild k̄, G and e^G of the chunk from the stored Z.
                bool prev = c > 0 || z0n != null;
                if (prev) new ReadOnlySpan<T>(c > 0 ? zall + (long)(t0 - 1) * d : z0n, d).CopyTo(new Span<T>(zrun, d));
                RebuildChunk(kn + (long)t0 * d, zall + (long)t0 * d, L, d, prev ? zrun : zall + (long)t0 * d, ch);
                T* qc = qn + (long)t0 * d, dqc = dqn + (long)t0 * d, dkc = dkn + (long)t0 * d;
                var (gq, gk) = ch.GradientTargets(dqc, dkc);
                seq.Backward(ch.Queries(qc, L), seq.Kb, vn + (long)t0 * e, dOn + (long)t0 * e, starts + (long)c * D * e, L, alpha, R, (T*)gq, (T*)gk, dvn + (long)t0 * e);
                ch.ReduceGradients(dqc, dkc, L);
                for (int l = L - 1; l >= 0; l--)
                {
                    long t = t0 + l;
                    var ws = new Span<T>(w, d);
                    if (t + 1 < Tn)
                    {
                        ExpDiff(zall + t * d, zall + (t + 1) * d, tmp, d);
                        TensorPrimitives.Multiply(ws, new ReadOnlySpan<T>(tmp, d), ws);
                    }
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(qc + (long)l * d, d), new ReadOnlySpan<T>(dqc + (long)l * d, d), ws, ws);
                    var dkRow = Row(dkc, l, d);
                    TensorPrimitives.Subtract(dkRow, ws, dkRow);
                    TensorPrimitives.Multiply(dkRow, new ReadOnlySpan<T>(ch.Kb + (long)l * d, d), dkRow);
                }
            }
            if (pds0 != 0) new ReadOnlySpan<T>(R, D * e).CopyTo(new Span<T>((T*)pds0 + (long)n * D * e, D * e));
            if (pdz0 != 0)
            {
                T* dz = (T*)pdz0 + (long)n * d;
                RowDots((T*)ps0 + (long)n * D * e, R, D, e, tmp);
                if (D != d) TensorPrimitives.Add(new ReadOnlySpan<T>(tmp, d), new ReadOnlySpan<T>(tmp + d, d), new Span<T>(tmp, d));
                new ReadOnlySpan<T>(tmp, d).CopyTo(new Span<T>(dz, d));
                ExpDiff(z0n, zall, tmp, d);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(tmp, d), new ReadOnlySpan<T>(w, d), new Span<T>(tmp, d));
                TensorPrimitives.Subtract(new ReadOnlySpan<T>(dz, d), new ReadOnlySpan<T>(tmp, d), new Span<T>(dz, d));
            }
        });
    }
}
