using System.Numerics;
using System.Numerics.Tensors;

namespace LightNet.Cpu;

/// <summary>
/// Direct-sum MD-TPE kernels on contiguous x/y [B, L + N, c] and kernel [Π(2n_a−1), c]:
/// <c>Y_p = Σ_p' t_(p−p') ⊙ X_p'</c>, its correlation adjoint and the kernel gradient. O(B·N²·c).
/// </summary>
internal static unsafe class ToeplitzDirect
{
    private const int RowsPerChunk = 8;

    /// <summary>Forward: extra rows copied, grid rows = (residual ? X : 0) + Toeplitz(X).</summary>
    public static void Forward<T>(T* x, T* kern, T* y, int batch, int c, ToeplitzPlan plan) where T : unmanaged, IFloatingPointIeee754<T> =>
        RowSums(x, kern, y, batch, c, plan, adjoint: false);

    /// <summary>dx: extra rows = dy; grid rows = (residual ? dY : 0) + Σ_p t_(p−p') ⊙ dY_p.</summary>
    public static void BackwardX<T>(T* dy, T* kern, T* dx, int batch, int c, ToeplitzPlan plan) where T : unmanaged, IFloatingPointIeee754<T> =>
        RowSums(dy, kern, dx, batch, c, plan, adjoint: true);

    /// <summary>
    /// dst rows = (residual ? src : 0) + Σ_j t_Δ ⊙ src_j with Δ = p − j (forward) or Δ = j − p (adjoint,
    /// the correlation); causal mode keeps Δ ≥ 0 only. Extra rows are copied.
    /// </summary>
    private static void RowSums<T>(T* src, T* kern, T* dst, int batch, int c, ToeplitzPlan plan, bool adjoint) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = new ToeplitzGeometry(plan);
        int n = plan.Tokens, l = plan.NExtra, s = l + n;
        bool causal = plan.Causal, residual = plan.Residual;
        CopyExtra(src, dst, batch, s, l, c);
        nint ps = (nint)src, pk = (nint)kern, pd = (nint)dst;
        var kb = g.KernelBase; var go = g.GridOffset;
        Parallelism.ForChunks((long)batch * n, RowsPerChunk, (r0, nr) =>
        {
            for (long r = r0; r < r0 + nr; r++)
            {
                int b = (int)(r / n), p = (int)(r % n);
                T* sb = (T*)ps + ((long)b * s + l) * c;
                T* row = (T*)pd + ((long)b * s + l + p) * c;
                if (residual) new ReadOnlySpan<T>(sb + (long)p * c, c).CopyTo(new Span<T>(row, c));
                else new Span<T>(row, c).Clear();
                // kernel index of Δ = p − j is kb[p] − go[j]; of Δ = j − p it is kb[j] − go[p]
                if (adjoint) Accumulate(row, (T*)pk, sb, c, -go[p], kb, 1, causal ? p : 0, n);
                else Accumulate(row, (T*)pk, sb, c, kb[p], go, -1, 0, causal ? p + 1 : n);
            }
        });
    }

    /// <summary>dkernel_Δ = Σ_b Σ_p dY_p ⊙ X_(p−Δ) (0 at causally masked offsets).</summary>
    public static void BackwardKernel<T>(T* x, T* dy, T* dkern, int batch, int c, ToeplitzPlan plan) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = new ToeplitzGeometry(plan);
        int n = plan.Tokens, l = plan.NExtra, s = l + n, k = plan.Dims;
        var grid = plan.Grid;
        nint px = (nint)x, pg = (nint)dy, pd = (nint)dkern;
        Parallelism.ForChunks(plan.Offsets, RowsPerChunk, (f0, nf) =>
        {
            Span<int> delta = stackalloc int[k];
            Span<int> lo = stackalloc int[k];
            Span<int> len = stackalloc int[k];
            Span<int> idx = stackalloc int[k];
            for (int f = (int)f0; f < f0 + nf; f++)
            {
                var acc = new Span<T>((T*)pd + (long)f * c, c);
                acc.Clear();
                if (g.Masked(f)) continue;
                g.Delta(f, delta);
                int shift = 0, runs = 1;
                for (int a = 0; a < k; a++)
                {
                    lo[a] = Math.Max(0, delta[a]);
                    len[a] = Math.Min(grid[a], grid[a] + delta[a]) - lo[a];
                    shift += delta[a] * g.GridStrides[a];
                    if (a < k - 1) runs *= len[a];
                }
                int run = len[k - 1];
                for (int b = 0; b < batch; b++)
                {
                    T* xb = (T*)px + ((long)b * s + l) * c;
                    T* gb = (T*)pg + ((long)b * s + l) * c;
                    for (int o = 0; o < runs; o++)
                    {
                        int rem = o, start = lo[k - 1];
                        for (int a = k - 2; a >= 0; a--) { idx[a] = rem % len[a]; rem /= len[a]; start += (lo[a] + idx[a]) * g.GridStrides[a]; }
                        for (int p = start; p < start + run; p++)
                            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(gb + (long)p * c, c), new ReadOnlySpan<T>(xb + (long)(p - shift) * c, c), acc, acc);
                    }
                }
            }
        });
    }

    /// <summary>
    /// <c>acc += Σ_{j0 ≤ j &lt; j1} kern[cst + sign·idx[j]] ⊙ src[j]</c> over c-long rows. The row is processed in
    /// slices of four vectors held in registers across the whole j loop (two loads per FMA, no stores).
    /// </summary>
    private static void Accumulate<T>(T* acc, T* kern, T* src, int c, int cst, int[] idx, int sign, int j0, int j1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector<T>.Count, c0 = 0;
        for (; c0 + 4 * w <= c; c0 += 4 * w)
        {
            Vector<T> a0 = Vector.Load(acc + c0), a1 = Vector.Load(acc + c0 + w), a2 = Vector.Load(acc + c0 + 2 * w), a3 = Vector.Load(acc + c0 + 3 * w);
            for (int j = j0; j < j1; j++)
            {
                T* kr = kern + (long)(cst + sign * idx[j]) * c + c0;
                T* sr = src + (long)j * c + c0;
                a0 = Fma(Vector.Load(kr), Vector.Load(sr), a0);
                a1 = Fma(Vector.Load(kr + w), Vector.Load(sr + w), a1);
                a2 = Fma(Vector.Load(kr + 2 * w), Vector.Load(sr + 2 * w), a2);
                a3 = Fma(Vector.Load(kr + 3 * w), Vector.Load(sr + 3 * w), a3);
            }
            a0.Store(acc + c0); a1.Store(acc + c0 + w); a2.Store(acc + c0 + 2 * w); a3.Store(acc + c0 + 3 * w);
        }
        if (c0 == c) return;
        int rest = c - c0;
        var ar = new Span<T>(acc + c0, rest);
        for (int j = j0; j < j1; j++)
            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(kern + (long)(cst + sign * idx[j]) * c + c0, rest), new ReadOnlySpan<T>(src + (long)j * c + c0, rest), ar, ar);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Fma<T>(Vector<T> a, Vector<T> b, Vector<T> c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        return a * b + c;
    }

    /// <summary>Copies the leading extra rows of every batch item.</summary>
    internal static void CopyExtra<T>(T* src, T* dst, int batch, int s, int l, int c) where T : unmanaged
    {
        if (l == 0) return;
        for (int b = 0; b < batch; b++)
            new ReadOnlySpan<T>(src + (long)b * s * c, l * c).CopyTo(new Span<T>(dst + (long)b * s * c, l * c));
    }
}
