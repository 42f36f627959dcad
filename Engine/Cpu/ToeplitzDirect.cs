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
    public static void Forward<T>(T* x, T* kern, T* y, int batch, int c, ToeplitzPlan plan) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = new ToeplitzGeometry(plan);
        int n = plan.Tokens, l = plan.NExtra, s = l + n;
        bool causal = plan.Causal, residual = plan.Residual;
        CopyExtra(x, y, batch, s, l, c);
        nint px = (nint)x, pk = (nint)kern, py = (nint)y;
        var kb = g.KernelBase; var go = g.GridOffset;
        Parallelism.ForChunks((long)batch * n, RowsPerChunk, (r0, nr) =>
        {
            for (long r = r0; r < r0 + nr; r++)
            {
                int b = (int)(r / n), p = (int)(r % n);
                T* xb = (T*)px + ((long)b * s + l) * c;
                var yrow = new Span<T>((T*)py + ((long)b * s + l + p) * c, c);
                if (residual) new ReadOnlySpan<T>(xb + (long)p * c, c).CopyTo(yrow);
                else yrow.Clear();
                int end = causal ? p + 1 : n;
                for (int q = 0; q < end; q++)
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>((T*)pk + (long)(kb[p] - go[q]) * c, c), new ReadOnlySpan<T>(xb + (long)q * c, c), yrow, yrow);
            }
        });
    }

    /// <summary>dx: extra rows = dy; grid rows = (residual ? dY : 0) + Σ_p t_(p−p') ⊙ dY_p.</summary>
    public static void BackwardX<T>(T* dy, T* kern, T* dx, int batch, int c, ToeplitzPlan plan) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = new ToeplitzGeometry(plan);
        int n = plan.Tokens, l = plan.NExtra, s = l + n;
        bool causal = plan.Causal, residual = plan.Residual;
        CopyExtra(dy, dx, batch, s, l, c);
        nint pg = (nint)dy, pk = (nint)kern, pdx = (nint)dx;
        var kb = g.KernelBase; var go = g.GridOffset;
        Parallelism.ForChunks((long)batch * n, RowsPerChunk, (r0, nr) =>
        {
            for (long r = r0; r < r0 + nr; r++)
            {
                int b = (int)(r / n), q = (int)(r % n);
                T* gb = (T*)pg + ((long)b * s + l) * c;
                var row = new Span<T>((T*)pdx + ((long)b * s + l + q) * c, c);
                if (residual) new ReadOnlySpan<T>(gb + (long)q * c, c).CopyTo(row);
                else row.Clear();
                for (int p = causal ? q : 0; p < n; p++)
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>((T*)pk + (long)(kb[p] - go[q]) * c, c), new ReadOnlySpan<T>(gb + (long)p * c, c), row, row);
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

    /// <summary>Copies the leading extra rows of every batch item.</summary>
    internal static void CopyExtra<T>(T* src, T* dst, int batch, int s, int l, int c) where T : unmanaged
    {
        if (l == 0) return;
        for (int b = 0; b < batch; b++)
            new ReadOnlySpan<T>(src + (long)b * s * c, l * c).CopyTo(new Span<T>(dst + (long)b * s * c, l * c));
    }
}
