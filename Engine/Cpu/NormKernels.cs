using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LightNet.Cpu;

/// <summary>RMSNorm and LayerNorm over rows of a contiguous [rows, n] view, forward and backward.</summary>
internal static unsafe class NormKernels
{
    private const int RowsPerChunk = 32;
    /// <summary>Outputs at least this large bypass the cache (non-temporal stores): nothing would still be cached when it is read.</summary>
    private const long StreamingBytes = 32L << 20;

    public static void RmsNorm<T>(T* x, T* w, double eps, T* y, T* rstd, long rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint px = (nint)x, pw = (nint)w, py = (nint)y, pr = (nint)rstd;
        bool streaming = rows * n * sizeof(T) >= StreamingBytes;
        Parallelism.ForChunks(rows, RowsPerChunk, (r0, nr) =>
        {
            for (long r = r0; r < r0 + nr; r++)
            {
                var xs = new ReadOnlySpan<T>((T*)px + r * n, n);
                var ys = new Span<T>((T*)py + r * n, n);
                T rs = ((T*)pr)[r] = RowRstd(xs, eps);
                if (pw == 0) TensorPrimitives.Multiply(xs, rs, ys);
                else ScaleRow((T*)px + r * n, rs, (T*)pw, (T*)py + r * n, n, streaming);
            }
            if (streaming && Sse.IsSupported) Sse.StoreFence(); // order the non-temporal stores before the chunk is seen as done
        });
    }

    public static void RmsNormBackward<T>(T* x, T* w, T* rstd, T* dy, T* dx, T* dw, long rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint px = (nint)x, pw = (nint)w, pr = (nint)rstd, pdy = (nint)dy, pdx = (nint)dx;
        int chunks = (int)((rows + RowsPerChunk - 1) / RowsPerChunk);
        var partial = dw != null ? new T[(long)chunks * n] : null;
        Parallelism.For(chunks, c =>
        {
            var g = new T[n];
            long r1 = Math.Min(rows, (long)(c + 1) * RowsPerChunk);
            for (long r = (long)c * RowsPerChunk; r < r1; r++)
            {
                var xs = new ReadOnlySpan<T>((T*)px + r * n, n);
                var dys = new ReadOnlySpan<T>((T*)pdy + r * n, n);
                var dxs = new Span<T>((T*)pdx + r * n, n);
                T rs = ((T*)pr)[r];
                if (pw != 0) TensorPrimitives.Multiply(dys, new ReadOnlySpan<T>((T*)pw, n), g);
                else dys.CopyTo(g);
                RowDx(xs, g, rs, dxs);
                if (partial != null)
                {
                    // dw += (dy·x)·rs, in the same rounding order as the scalar sum
                    var pp = partial.AsSpan(c * n, n);
                    TensorPrimitives.Multiply(dys, xs, g);
                    TensorPrimitives.MultiplyAdd(g, rs, pp, pp);
                }
            }
        });
        if (partial != null) SumPartials(partial, chunks, n, dw);
    }

    /// <summary>
    /// y = (x·rs)·w in one pass over the row (the normalised row is never re-read). <paramref name="streaming"/>: the output
    /// is too large to stay in cache, so it is written with non-temporal stores (no read-for-ownership of y).
    /// </summary>
    private static void ScaleRow<T>(T* x, T rs, T* w, T* y, int n, bool streaming) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(rs);
            if (streaming && ((nint)y & 63) == 0)
                for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                    Vector512.StoreAlignedNonTemporal(Vector512.Load(x + i) * s * Vector512.Load(w + i), y + i);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                Vector512.Store(Vector512.Load(x + i) * s * Vector512.Load(w + i), y + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(rs);
            if (streaming && ((nint)y & 31) == 0)
                for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                    Vector256.StoreAlignedNonTemporal(Vector256.Load(x + i) * s * Vector256.Load(w + i), y + i);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                Vector256.Store(Vector256.Load(x + i) * s * Vector256.Load(w + i), y + i);
        }
        for (; i < n; i++) y[i] = x[i] * rs * w[i];
    }

    /// <summary>1 / sqrt(mean(x²) + eps) of one row.</summary>
    private static T RowRstd<T>(ReadOnlySpan<T> x, double eps) where T : unmanaged, IFloatingPointIeee754<T> =>
        T.CreateTruncating(1.0 / Math.Sqrt(double.CreateTruncating(TensorPrimitives.SumOfSquares(x)) / x.Length + eps));

    /// <summary>RMSNorm's input gradient of one row for the gradient g of the normalised row: dx = rs·g − x·rs³·mean(x·g).</summary>
    private static void RowDx<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> g, T rs, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T dot = TensorPrimitives.Dot(x, g) / T.CreateTruncating(x.Length);
        TensorPrimitives.Multiply(g, rs, dx);
        TensorPrimitives.MultiplyAdd(x, -dot * rs * rs * rs, dx, dx);
    }

    /// <summary>SiLU of a row: float32 through <see cref="FastExp"/>, float64 by its definition.</summary>
    private static void SiluRow<T>(ReadOnlySpan<T> u, Span<T> s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) { FastExp.Silu(MemoryMarshal.Cast<T, float>(u), MemoryMarshal.Cast<T, float>(s)); return; }
        for (int i = 0; i < u.Length; i++) s[i] = u[i] / (T.One + T.Exp(-u[i]));
    }

    /// <summary>d = g·SiLU'(u) for a row.</summary>
    private static void SiluBackwardRow<T>(ReadOnlySpan<T> u, ReadOnlySpan<T> g, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            FastExp.SiluBackward(MemoryMarshal.Cast<T, float>(u), MemoryMarshal.Cast<T, float>(g), MemoryMarshal.Cast<T, float>(d));
            return;
        }
        for (int i = 0; i < u.Length; i++)
        {
            T sg = T.One / (T.One + T.Exp(-u[i]));
            d[i] = g[i] * sg * (T.One + u[i] * (T.One - sg));
        }
    }

    /// <summary>y = (x·rs)·w ⊙ SiLU(u) per row (LightNet's output gate), rstd per row.</summary>
    public static void RmsNormGate<T>(T* x, T* w, T* u, double eps, T* y, T* rstd, long rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint px = (nint)x, pw = (nint)w, pu = (nint)u, py = (nint)y, pr = (nint)rstd;
        Parallelism.ForChunks(rows, RowsPerChunk, (r0, nr) =>
        {
            var tmp = new T[n];
            for (long r = r0; r < r0 + nr; r++)
            {
                var xs = new ReadOnlySpan<T>((T*)px + r * n, n);
                var ys = new Span<T>((T*)py + r * n, n);
                T rs = ((T*)pr)[r] = RowRstd(xs, eps);
                SiluRow(new ReadOnlySpan<T>((T*)pu + r * n, n), tmp);
                ScaleRow((T*)px + r * n, rs, (T*)pw, (T*)py + r * n, n, streaming: false);
                TensorPrimitives.Multiply(ys, tmp, ys);
            }
        });
    }

    /// <summary>
    /// Backward of <see cref="RmsNormGate{T}"/>: with s = SiLU(u), a = x·rs·w and ga = dy·s: du = dy·a·SiLU'(u),
    /// dw = Σ_rows ga·x·rs, dx = rs·g − x·rs³·mean(x·g) for g = ga·w.
    /// </summary>
    public static void RmsNormGateBackward<T>(T* x, T* w, T* u, T* rstd, T* dy, T* dx, T* dw, T* du, long rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint px = (nint)x, pw = (nint)w, pu = (nint)u, pr = (nint)rstd, pdy = (nint)dy, pdx = (nint)dx, pdu = (nint)du;
        int chunks = (int)((rows + RowsPerChunk - 1) / RowsPerChunk);
        var partial = new T[(long)chunks * n];
        Parallelism.For(chunks, c =>
        {
            var ga = new T[n];
            var t = new T[n];
            var ws = new ReadOnlySpan<T>((T*)pw, n);
            var pp = partial.AsSpan(c * n, n);
            long r1 = Math.Min(rows, (long)(c + 1) * RowsPerChunk);
            for (long r = (long)c * RowsPerChunk; r < r1; r++)
            {
                var xs = new ReadOnlySpan<T>((T*)px + r * n, n);
                var us = new ReadOnlySpan<T>((T*)pu + r * n, n);
                var dys = new ReadOnlySpan<T>((T*)pdy + r * n, n);
                T rs = ((T*)pr)[r];
                SiluRow(us, ga);
                TensorPrimitives.Multiply(dys, ga, ga);                       // ga = dy·s
                TensorPrimitives.Multiply(xs, rs, t);
                TensorPrimitives.Multiply(t, ws, t);
                TensorPrimitives.Multiply(t, dys, t);                         // dy·a
                SiluBackwardRow(us, t, new Span<T>((T*)pdu + r * n, n));      // du
                TensorPrimitives.Multiply(xs, rs, t);
                TensorPrimitives.MultiplyAdd(ga, t, pp, pp);                  // dw += ga·x̂
                TensorPrimitives.Multiply(ga, ws, t);                         // g = ga·w
                RowDx(xs, t, rs, new Span<T>((T*)pdx + r * n, n));
            }
        });
        SumPartials(partial, chunks, n, dw);
    }

    private static void SumPartials<T>(T[] partial, int chunks, int n, T* dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d = new Span<T>(dst, n);
        d.Clear();
        for (int c = 0; c < chunks; c++) TensorPrimitives.Add(d, partial.AsSpan(c * n, n), d);
    }

    public static void LayerNorm<T>(T* x, T* w, T* b, double eps, T* y, T* mean, T* rstd, long rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint px = (nint)x, pw = (nint)w, pb = (nint)b, py = (nint)y, pm = (nint)mean, pr = (nint)rstd;
        Parallelism.ForChunks(rows, RowsPerChunk, (r0, nr) =>
        {
            for (long r = r0; r < r0 + nr; r++)
            {
                var xs = new ReadOnlySpan<T>((T*)px + r * n, n);
                var ys = new Span<T>((T*)py + r * n, n);
                T mu = TensorPrimitives.Sum(xs) / T.CreateTruncating(n);
                TensorPrimitives.Subtract(xs, mu, ys);
                double v = double.CreateTruncating(TensorPrimitives.SumOfSquares<T>(ys)) / n;
                T rs = T.CreateTruncating(1.0 / Math.Sqrt(v + eps));
                ((T*)pm)[r] = mu;
                ((T*)pr)[r] = rs;
                TensorPrimitives.Multiply(ys, rs, ys);
                if (pw != 0) TensorPrimitives.Multiply(ys, new ReadOnlySpan<T>((T*)pw, n), ys);
                if (pb != 0) TensorPrimitives.Add(ys, new ReadOnlySpan<T>((T*)pb, n), ys);
            }
        });
    }

    public static void LayerNormBackward<T>(T* x, T* w, T* mean, T* rstd, T* dy, T* dx, T* dw, T* db, long rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint px = (nint)x, pw = (nint)w, pm = (nint)mean, pr = (nint)rstd, pdy = (nint)dy, pdx = (nint)dx;
        int chunks = (int)((rows + RowsPerChunk - 1) / RowsPerChunk);
        var pdw = dw != null ? new T[(long)chunks * n] : null;
        var pdb = db != null ? new T[(long)chunks * n] : null;
        Parallelism.For(chunks, c =>
        {
            var g = new T[n];
            var xh = new T[n];
            long r1 = Math.Min(rows, (long)(c + 1) * RowsPerChunk);
            for (long r = (long)c * RowsPerChunk; r < r1; r++)
            {
                var xs = new ReadOnlySpan<T>((T*)px + r * n, n);
                var dys = new ReadOnlySpan<T>((T*)pdy + r * n, n);
                var dxs = new Span<T>((T*)pdx + r * n, n);
                T rs = ((T*)pr)[r], mu = ((T*)pm)[r];
                TensorPrimitives.Subtract(xs, mu, xh);
                TensorPrimitives.Multiply<T>(xh, rs, xh);
                if (pw != 0) TensorPrimitives.Multiply(dys, new ReadOnlySpan<T>((T*)pw, n), g);
                else dys.CopyTo(g);
                T inv = T.One / T.CreateTruncating(n);
                T mg = TensorPrimitives.Sum<T>(g) * inv, mgx = TensorPrimitives.Dot<T>(g, xh) * inv;
                // dx = rs·(g − mean(g) − x̂·mean(g·x̂))
                for (int i = 0; i < n; i++) dxs[i] = rs * (g[i] - mg - xh[i] * mgx);
                if (pdw != null) { var p = pdw.AsSpan(c * n, n); for (int i = 0; i < n; i++) p[i] += dys[i] * xh[i]; }
                if (pdb != null) TensorPrimitives.Add(pdb.AsSpan(c * n, n), dys, pdb.AsSpan(c * n, n));
            }
        });
        if (pdw != null) SumPartials(pdw, chunks, n, dw);
        if (pdb != null) SumPartials(pdb, chunks, n, db);
    }
}
