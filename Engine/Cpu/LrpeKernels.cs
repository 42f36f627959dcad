using System.Numerics;
using System.Numerics.Tensors;

namespace LightNet.Cpu;

/// <summary>Fused MD-LRPE expansion over contiguous x [rows, T, d] with angles [T, d]; cos/sin are computed once per call.</summary>
internal static unsafe class LrpeKernels
{
    private static (T[] Cos, T[] Sin) Tables<T>(T* angles, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var c = new T[n];
        var s = new T[n];
        for (int i = 0; i < n; i++)
        {
            double a = double.CreateTruncating(angles[i]);
            c[i] = T.CreateTruncating(Math.Cos(a));
            s[i] = T.CreateTruncating(Math.Sin(a));
        }
        return (c, s);
    }

    /// <summary>y[r, t] = [x[r, t] ⊙ cos Θ_t, x[r, t] ⊙ sin Θ_t].</summary>
    public static void Forward<T>(T* x, T* angles, T* y, long rows, int t, int d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (cos, sin) = Tables(angles, t * d);
        nint px = (nint)x, py = (nint)y;
        Parallelism.ForChunks(rows * t, Math.Max(1, 16384 / Math.Max(1, d)), (r0, nr) =>
        {
            for (long r = r0; r < r0 + nr; r++)
            {
                int ti = (int)(r % t);
                var xs = new ReadOnlySpan<T>((T*)px + r * d, d);
                var yc = new Span<T>((T*)py + r * 2 * d, d);
                var ys = new Span<T>((T*)py + r * 2 * d + d, d);
                TensorPrimitives.Multiply(xs, cos.AsSpan(ti * d, d), yc);
                TensorPrimitives.Multiply(xs, sin.AsSpan(ti * d, d), ys);
            }
        });
    }

    /// <summary>dx[r, t] = dy[r, t, :d] ⊙ cos Θ_t + dy[r, t, d:] ⊙ sin Θ_t.</summary>
    public static void Backward<T>(T* dy, T* angles, T* dx, long rows, int t, int d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (cos, sin) = Tables(angles, t * d);
        nint pg = (nint)dy, pdx = (nint)dx;
        Parallelism.ForChunks(rows * t, Math.Max(1, 16384 / Math.Max(1, d)), (r0, nr) =>
        {
            for (long r = r0; r < r0 + nr; r++)
            {
                int ti = (int)(r % t);
                var gc = new ReadOnlySpan<T>((T*)pg + r * 2 * d, d);
                var gs = new ReadOnlySpan<T>((T*)pg + r * 2 * d + d, d);
                var o = new Span<T>((T*)pdx + r * d, d);
                TensorPrimitives.Multiply(gc, cos.AsSpan(ti * d, d), o);
                TensorPrimitives.MultiplyAdd(gs, sin.AsSpan(ti * d, d), o, o);
            }
        });
    }
}
