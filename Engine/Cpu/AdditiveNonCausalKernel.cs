using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace LightNet.Cpu;

/// <summary>
/// Fused non-causal additive attention <c>O = α φ(Q) φ(softmax_T(K))ᵀ V</c> per sequence, where φ is the MD-LRPE
/// expansion <c>[x cos Θ, x sin Θ]</c> (or the identity without angles). The softmax over tokens, the expansion and
/// the two products run block by block of tokens, so neither k̄ nor the 2d-wide φ(Q), φ(k̄) is ever materialised.
/// Backward: <c>dS = α φ(Q)ᵀ dO</c>, <c>dQ = φᵀ(α dO Sᵀ)</c>, <c>dV = φ(k̄) dS</c>, <c>dk̄ = φᵀ(V dSᵀ)</c> and the softmax
/// adjoint <c>dK = k̄ ⊙ (dk̄ − Σ_T k̄ ⊙ dk̄)</c>.
/// </summary>
internal static unsafe class AdditiveNonCausalKernel
{
    private const int Block = 64;

    private static void MM<T>(T* a, long rsA, long csA, T* b, long rsB, long csB, T* c, long rsC, int m, int n, int k, bool acc)
        where T : unmanaged, IFloatingPointIeee754<T> => Gemm.Serial(a, rsA, csA, b, rsB, csB, c, rsC, m, n, k, acc);

    /// <summary>Scratch of one worker: block buffers and the d×e (or 2d×e) state.</summary>
    private sealed class Scratch<T> : IDisposable where T : unmanaged
    {
        public readonly T* Z, U, Kb, Kx, Qx, Gx, S, DS;

        public Scratch(int d, int D, int e)
        {
            long n = 2L * d + 2L * Block * d + 3L * Block * D + 2L * D * e;
            _base = (T*)NativeMemory.AlignedAlloc((nuint)(n * sizeof(T)), 64);
            T* p = _base;
            Z = p; p += d; U = p; p += d; Kb = p; p += Block * d;
            Kx = p; p += Block * D; Qx = p; p += Block * D; Gx = p; p += Block * D;
            S = p; p += D * e; DS = p;
        }

        private readonly T* _base;

        public void Dispose() => NativeMemory.AlignedFree(_base);
    }

    /// <summary>Z[i] = log Σ_t exp(k[t, i]) over the sequence (max-shifted; u and tmp are d-long scratch).</summary>
    private static void LogNormaliser<T>(T* k, int Tn, int d, T* z, T* u, T* tmp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var m = new Span<T>(u, d);
        var zs = new Span<T>(z, d);
        var x = new Span<T>(tmp, d);
        new ReadOnlySpan<T>(k, d).CopyTo(m);
        for (int t = 1; t < Tn; t++) TensorPrimitives.Max(m, new ReadOnlySpan<T>(k + (long)t * d, d), m);
        zs.Clear();
        for (int t = 0; t < Tn; t++)
        {
            TensorPrimitives.Subtract(new ReadOnlySpan<T>(k + (long)t * d, d), m, x);
            TensorPrimitives.Exp(x, x);
            TensorPrimitives.Add(zs, x, zs);
        }
        TensorPrimitives.Log(zs, zs);
        TensorPrimitives.Add(zs, m, zs);
    }

    /// <summary>k̄ of tokens [t0, t0 + L) into sc.Kb and its expansion into sc.Kx (or Kx = Kb without angles).</summary>
    private static T* Keys<T>(T* k, int t0, int L, int d, LrpeKernels.Tables<T>? lrpe, Scratch<T> sc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int l = 0; l < L; l++)
        {
            var row = new Span<T>(sc.Kb + (long)l * d, d);
            TensorPrimitives.Subtract(new ReadOnlySpan<T>(k + (long)(t0 + l) * d, d), new ReadOnlySpan<T>(sc.Z, d), row);
            TensorPrimitives.Exp(row, row);
        }
        if (lrpe == null) return sc.Kb;
        lrpe.Expand(sc.Kb, t0, L, sc.Kx);
        return sc.Kx;
    }

    private static T* Queries<T>(T* q, int t0, int L, int d, LrpeKernels.Tables<T>? lrpe, Scratch<T> sc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (lrpe == null) return q + (long)t0 * d;
        lrpe.Expand(q + (long)t0 * d, t0, L, sc.Qx);
        return sc.Qx;
    }

    /// <summary>S = φ(k̄)ᵀ V over the whole sequence (after the log-normaliser).</summary>
    private static void State<T>(T* k, T* v, int Tn, int d, int D, int e, LrpeKernels.Tables<T>? lrpe, Scratch<T> sc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        LogNormaliser(k, Tn, d, sc.Z, sc.U, sc.Kb);
        for (int t0 = 0; t0 < Tn; t0 += Block)
        {
            int L = Math.Min(Block, Tn - t0);
            T* kx = Keys(k, t0, L, d, lrpe, sc);
            MM(kx, 1, D, v + (long)t0 * e, e, 1, sc.S, e, D, e, L, acc: t0 > 0);
        }
    }

    /// <summary>o [N, Tn, e] from q, k [N, Tn, d], v [N, Tn, e] and optional angles [Tn, d].</summary>
    public static void Forward<T>(T* q, T* k, T* v, T* angles, T alpha, T* o, int N, int Tn, int d, int e) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var lrpe = angles == null ? null : new LrpeKernels.Tables<T>(angles, Tn, d);
        int D = lrpe == null ? d : 2 * d;
        nint pq = (nint)q, pk = (nint)k, pv = (nint)v, po = (nint)o;
        Parallelism.For(N, n =>
        {
            using var sc = new Scratch<T>(d, D, e);
            T* qn = (T*)pq + (long)n * Tn * d, kn = (T*)pk + (long)n * Tn * d, vn = (T*)pv + (long)n * Tn * e, on = (T*)po + (long)n * Tn * e;
            State(kn, vn, Tn, d, D, e, lrpe, sc);
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(sc.S, D * e), alpha, new Span<T>(sc.S, D * e));
            for (int t0 = 0; t0 < Tn; t0 += Block)
            {
                int L = Math.Min(Block, Tn - t0);
                MM(Queries(qn, t0, L, d, lrpe, sc), D, 1, sc.S, e, 1, on + (long)t0 * e, e, L, e, D, acc: false);
            }
        });
    }

    /// <summary>dq, dk [N, Tn, d] and dv [N, Tn, e] for the output gradient dO.</summary>
    public static void Backward<T>(T* q, T* k, T* v, T* angles, T alpha, T* dO, T* dq, T* dk, T* dv, int N, int Tn, int d, int e)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var lrpe = angles == null ? null : new LrpeKernels.Tables<T>(angles, Tn, d);
        int D = lrpe == null ? d : 2 * d;
        nint pq = (nint)q, pk = (nint)k, pv = (nint)v, pdO = (nint)dO, pdq = (nint)dq, pdk = (nint)dk, pdv = (nint)dv;
        Parallelism.For(N, n =>
        {
            using var sc = new Scratch<T>(d, D, e);
            T* qn = (T*)pq + (long)n * Tn * d, kn = (T*)pk + (long)n * Tn * d, vn = (T*)pv + (long)n * Tn * e, dOn = (T*)pdO + (long)n * Tn * e;
            T* dqn = (T*)pdq + (long)n * Tn * d, dkn = (T*)pdk + (long)n * Tn * d, dvn = (T*)pdv + (long)n * Tn * e;
            State(kn, vn, Tn, d, D, e, lrpe, sc);
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(sc.S, D * e), alpha, new Span<T>(sc.S, D * e));
            // dS = α φ(Q)ᵀ dO
            for (int t0 = 0; t0 < Tn; t0 += Block)
            {
                int L = Math.Min(Block, Tn - t0);
                MM(Queries(qn, t0, L, d, lrpe, sc), 1, D, dOn + (long)t0 * e, e, 1, sc.DS, e, D, e, L, acc: t0 > 0);
            }
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(sc.DS, D * e), alpha, new Span<T>(sc.DS, D * e));
            new Span<T>(sc.U, d).Clear();
            for (int t0 = 0; t0 < Tn; t0 += Block)
            {
                int L = Math.Min(Block, Tn - t0);
                // dQ = φᵀ(dO (αS)ᵀ)
                T* gq = lrpe == null ? dqn + (long)t0 * d : sc.Gx;
                MM(dOn + (long)t0 * e, e, 1, sc.S, 1, e, gq, D, L, D, e, acc: false);
                lrpe?.Reduce(sc.Gx, t0, L, dqn + (long)t0 * d);
                // dV = φ(k̄) dS; dk̄ = φᵀ(V dSᵀ), kept in dk until the softmax adjoint
                T* kx = Keys(kn, t0, L, d, lrpe, sc);
                MM(kx, D, 1, sc.DS, e, 1, dvn + (long)t0 * e, e, L, e, D, acc: false);
                T* gk = lrpe == null ? dkn + (long)t0 * d : sc.Gx;
                MM(vn + (long)t0 * e, e, 1, sc.DS, 1, e, gk, D, L, D, e, acc: false);
                lrpe?.Reduce(sc.Gx, t0, L, dkn + (long)t0 * d);
                for (int l = 0; l < L; l++)
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(sc.Kb + (long)l * d, d), new ReadOnlySpan<T>(dkn + (long)(t0 + l) * d, d), new ReadOnlySpan<T>(sc.U, d), new Span<T>(sc.U, d));
            }
            // dK = k̄ ⊙ (dk̄ − Σ_T k̄ ⊙ dk̄)
            for (int t0 = 0; t0 < Tn; t0 += Block)
            {
                int L = Math.Min(Block, Tn - t0);
                Keys(kn, t0, L, d, null, sc);
                for (int l = 0; l < L; l++)
                {
                    var row = new Span<T>(dkn + (long)(t0 + l) * d, d);
                    TensorPrimitives.Subtract(row, new ReadOnlySpan<T>(sc.U, d), row);
                    TensorPrimitives.Multiply(row, new ReadOnlySpan<T>(sc.Kb + (long)l * d, d), row);
                }
            }
        });
    }
}
