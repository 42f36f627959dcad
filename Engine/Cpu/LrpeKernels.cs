using System.Numerics;
using System.Numerics.Tensors;

namespace LightNet.Cpu;

/// <summary>
/// MD-LRPE expansion <c>[x cos Θ_t, x sin Θ_t]</c> and its adjoint on rows of d channels, with cos/sin tables
/// [T, d] computed once per call. Used on whole tensors and, inside the fused attention kernels, on one chunk
/// of tokens at a time (so the 2d-wide q and k̄ never exist in memory as full tensors).
/// </summary>
internal static unsafe class LrpeKernels
{
    /// <summary>cos Θ and sin Θ of angles [T, d], row-major.</summary>
    public sealed class Tables<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Tables(T* angles, int t, int d)
        {
            D = d;
            Cos = new T[(long)t * d];
            Sin = new T[(long)t * d];
            for (long i = 0; i < Cos.LongLength; i++)
            {
                double a = double.CreateTruncating(angles[i]);
                Cos[i] = T.CreateTruncating(Math.Cos(a));
                Sin[i] = T.CreateTruncating(Math.Sin(a));
            }
        }

        public int D { get; }
        public T[] Cos { get; }
        public T[] Sin { get; }

        /// <summary>dst[l] = [x[l] ⊙ cos Θ_{t0+l}, x[l] ⊙ sin Θ_{t0+l}] for L rows (x: L×d, dst: L×2d).</summary>
        public void Expand(T* x, int t0, int L, T* dst)
        {
            int d = D;
            for (int l = 0; l < L; l++)
            {
                var xs = new ReadOnlySpan<T>(x + (long)l * d, d);
                TensorPrimitives.Multiply(xs, Cos.AsSpan((t0 + l) * d, d), new Span<T>(dst + (long)l * 2 * d, d));
                TensorPrimitives.Multiply(xs, Sin.AsSpan((t0 + l) * d, d), new Span<T>(dst + (long)l * 2 * d + d, d));
            }
        }

        /// <summary>dx[l] = dy[l, :d] ⊙ cos Θ_{t0+l} + dy[l, d:] ⊙ sin Θ_{t0+l} (the adjoint of <see cref="Expand"/>).</summary>
        public void Reduce(T* dy, int t0, int L, T* dx)
        {
            int d = D;
            for (int l = 0; l < L; l++)
            {
                var o = new Span<T>(dx + (long)l * d, d);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(dy + (long)l * 2 * d, d), Cos.AsSpan((t0 + l) * d, d), o);
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(dy + (long)l * 2 * d + d, d), Sin.AsSpan((t0 + l) * d, d), o, o);
            }
        }
    }

    /// <summary>y[r, t] = [x[r, t] ⊙ cos Θ_t, x[r, t] ⊙ sin Θ_t] over contiguous x [rows, T, d].</summary>
    public static void Forward<T>(T* x, T* angles, T* y, long rows, int t, int d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var tables = new Tables<T>(angles, t, d);
        nint px = (nint)x, py = (nint)y;
        Parallelism.ForChunks(rows * t, Math.Max(1, 16384 / Math.Max(1, d)), (r0, nr) =>
        {
            for (long r = r0; r < r0 + nr; r++) tables.Expand((T*)px + r * d, (int)(r % t), 1, (T*)py + r * 2 * d);
        });
    }

    /// <summary>dx[r, t] = dy[r, t, :d] ⊙ cos Θ_t + dy[r, t, d:] ⊙ sin Θ_t.</summary>
    public static void Backward<T>(T* dy, T* angles, T* dx, long rows, int t, int d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var tables = new Tables<T>(angles, t, d);
        nint pg = (nint)dy, pdx = (nint)dx;
        Parallelism.ForChunks(rows * t, Math.Max(1, 16384 / Math.Max(1, d)), (r0, nr) =>
        {
            for (long r = r0; r < r0 + nr; r++) tables.Reduce((T*)pg + r * 2 * d, (int)(r % t), 1, (T*)pdx + r * d);
        });
    }
}
