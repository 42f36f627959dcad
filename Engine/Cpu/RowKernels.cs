using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace LightNet.Cpu;

/// <summary>Per-row kernels of contiguous [rows, n] views: softmax, cumulative ops, cross-entropy.</summary>
internal static unsafe class RowKernels
{
    private static void ForRows(long rows, int n, Action<long> body) =>
        Parallelism.ForChunks(rows, Math.Max(1, 4096 / Math.Max(1, n)), (r0, nr) =>
        {
            for (long r = r0; r < r0 + nr; r++) body(r);
        });

    public static void Softmax<T>(T* x, T* y, long rows, int n, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!log && typeof(T) == typeof(float)) { SoftmaxFloat((float*)x, (float*)y, rows, n); return; }
        nint px = (nint)x, py = (nint)y;
        ForRows(rows, n, r =>
        {
            var xs = new ReadOnlySpan<T>((T*)px + r * n, n);
            var ys = new Span<T>((T*)py + r * n, n);
            T m = Extremum.Max(xs);
            if (T.IsNegativeInfinity(m)) { ys.Fill(log ? T.NegativeInfinity : T.NaN); return; }
            TensorPrimitives.Subtract(xs, m, ys);
            if (log)
            {
                var tmp = ArrayPool<T>.Shared.Rent(n);
                TensorPrimitives.Exp(ys, tmp.AsSpan(0, n));
                T s = TensorPrimitives.Sum<T>(tmp.AsSpan(0, n));
                ArrayPool<T>.Shared.Return(tmp);
                TensorPrimitives.Subtract(ys, T.Log(s), ys);
            }
            else
            {
                TensorPrimitives.Exp(ys, ys);
                T s = TensorPrimitives.Sum<T>(ys);
                TensorPrimitives.Multiply(ys, T.One / s, ys);
            }
        });
    }

    /// <summary>Leading elements of a row whose maximum is softmax's first shift (<see cref="SoftmaxFloat"/>).</summary>
    private const int SoftmaxHead = 64;

    /// <summary>
    /// Softmax of float32 rows in one read of each row: the exponentials are shifted by the largest of the row's first
    /// <see cref="SoftmaxHead"/> elements, which softmax's invariance to the shift allows as long as no exponent exceeds
    /// <see cref="FastExp.ShiftHi"/> (the sum stays finite; the first elements' largest term is 1, so it cannot vanish). Only a
    /// row where that fails (a later element above the head's maximum by more than ShiftHi, a NaN, ±∞) is read again for
    /// its maximum and shifted by it, the classic form. Rows whose maximum is −∞ or NaN, or that hold +∞, give NaN. When y
    /// overlaps x (in place) every row takes the classic form: a refused pass would have overwritten inputs.
    /// </summary>
    private static void SoftmaxFloat(float* x, float* y, long rows, int n)
    {
        nint px = (nint)x, py = (nint)y;
        bool overlap = x < y + rows * n && y < x + rows * n;
        ForRows(rows, n, r =>
        {
            var xs = new ReadOnlySpan<float>((float*)px + r * n, n);
            var ys = new Span<float>((float*)py + r * n, n);
            if (overlap || !FastExp.TryExpShiftedSum(xs, Extremum.Max(xs[..Math.Min(n, SoftmaxHead)]), ys, out float sum))
            {
                float m = Extremum.Max(xs);
                if (!float.IsFinite(m)) { ys.Fill(float.NaN); return; }
                if (!FastExp.TryExpShiftedSum(xs, m, ys, out sum))
                    throw new InvalidOperationException($"softmax: row {r} failed its exponentials shifted by its own maximum {m}");
            }
            TensorPrimitives.Multiply(ys, 1f / sum, ys);
        });
    }

    public static void SoftmaxBackward<T>(T* y, T* dy, T* dx, long rows, int n, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint py = (nint)y, pdy = (nint)dy, pdx = (nint)dx;
        ForRows(rows, n, r =>
        {
            var ys = new ReadOnlySpan<T>((T*)py + r * n, n);
            var g = new ReadOnlySpan<T>((T*)pdy + r * n, n);
            var d = new Span<T>((T*)pdx + r * n, n);
            if (log)
            {
                T s = TensorPrimitives.Sum(g);
                TensorPrimitives.Exp(ys, d);
                TensorPrimitives.MultiplyAdd(d, -s, g, d);
            }
            else
            {
                T s = TensorPrimitives.Dot(g, ys);
                TensorPrimitives.Subtract(g, s, d);
                TensorPrimitives.Multiply(d, ys, d);
            }
        });
    }

    public static void Cumulative<T>(T* x, T* y, long rows, int n, bool logSumExp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint px = (nint)x, py = (nint)y;
        ForRows(rows, n, r =>
        {
            T* xs = (T*)px + r * n;
            T* ys = (T*)py + r * n;
            if (!logSumExp)
            {
                double acc = 0;
                for (int i = 0; i < n; i++) { acc += double.CreateTruncating(xs[i]); ys[i] = T.CreateTruncating(acc); }
                return;
            }
            // Running-max form: m = max so far, s = Σ exp(x − m); never overflows.
            double m = double.NegativeInfinity, s = 0;
            for (int i = 0; i < n; i++)
            {
                double v = double.CreateTruncating(xs[i]);
                if (double.IsNegativeInfinity(v)) { }
                else if (v > m) { s = s * Math.Exp(m - v) + 1.0; m = v; }
                else s += Math.Exp(v - m);
                ys[i] = T.CreateTruncating(double.IsNegativeInfinity(m) ? m : m + Math.Log(s));
            }
        });
    }

    public static void CrossEntropy<T>(T* logits, long* targets, long rows, int n, long ignore, T* loss, T* lse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint pl = (nint)logits, pt = (nint)targets, plo = (nint)loss, pls = (nint)lse;
        Exception? bad = null;
        ForRows(rows, n, r =>
        {
            long t = ((long*)pt)[r];
            var row = new ReadOnlySpan<T>((T*)pl + r * n, n);
            T l = ReduceKernels.LogSumExp(row);
            ((T*)pls)[r] = l;
            if (t == ignore) { ((T*)plo)[r] = T.Zero; return; }
            if (t < 0 || t >= n) { bad = new ShapeException($"cross_entropy: target {t} at row {r} is outside [0, {n}) (and is not the ignore index {ignore})"); ((T*)plo)[r] = T.NaN; return; }
            ((T*)plo)[r] = l - row[(int)t];
        });
        if (bad != null) throw bad;
    }

    public static void CrossEntropyBackward<T>(T* logits, long* targets, long rows, int n, long ignore, T* lse, T* dloss, T* dlogits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint pl = (nint)logits, pt = (nint)targets, pls = (nint)lse, pdl = (nint)dloss, pd = (nint)dlogits;
        ForRows(rows, n, r =>
        {
            long t = ((long*)pt)[r];
            var d = new Span<T>((T*)pd + r * n, n);
            if (t == ignore) { d.Clear(); return; }
            var row = new ReadOnlySpan<T>((T*)pl + r * n, n);
            T g = ((T*)pdl)[r];
            TensorPrimitives.Subtract(row, ((T*)pls)[r], d);
            TensorPrimitives.Exp(d, d);
            TensorPrimitives.Multiply(d, g, d);
            d[(int)t] -= g;
        });
    }
}
