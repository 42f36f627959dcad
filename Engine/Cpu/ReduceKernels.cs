using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace LightNet.Cpu;

/// <summary>Row reductions of a contiguous [rows, n] view; long rows are split into fixed chunks so results do not depend on the thread count.</summary>
internal static unsafe class ReduceKernels
{
    private const int Chunk = 1 << 15;
    /// <summary>Elements per parallel work item when reducing many rows.</summary>
    private const int RowGrain = 1 << 17;

    public static void Reduce<T>(ReduceOp op, T* x, long rows, int n, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint px = (nint)x;
        if (op is ReduceOp.ArgMax or ReduceOp.ArgMin)
        {
            nint py = (nint)y.Ptr<long>();
            Parallelism.ForChunks(rows, Math.Max(1, Chunk / Math.Max(1, n)), (r0, nr) =>
            {
                for (long r = r0; r < r0 + nr; r++)
                {
                    var row = new ReadOnlySpan<T>((T*)px + r * n, n);
                    ((long*)py)[r] = op == ReduceOp.ArgMax ? TensorPrimitives.IndexOfMax(row) : TensorPrimitives.IndexOfMin(row);
                }
            });
            return;
        }
        nint pyt = (nint)y.Ptr<T>();
        if (rows == 1 && n > 2 * Chunk)
        {
            ((T*)pyt)[0] = ReduceLongRow(op, (T*)px, n);
            return;
        }
        Parallelism.ForChunks(rows, Math.Max(1, RowGrain / Math.Max(1, n)), (r0, nr) =>
        {
            for (long r = r0; r < r0 + nr; r++)
                ((T*)pyt)[r] = ReduceRow(op, new ReadOnlySpan<T>((T*)px + r * n, n));
        });
    }

    private static T ReduceRow<T>(ReduceOp op, ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (row.Length == 0)
            return op switch
            {
                ReduceOp.Sum => T.Zero,
                ReduceOp.LogSumExp => T.NegativeInfinity,
                _ => T.NaN,
            };
        switch (op)
        {
            case ReduceOp.Sum: return TensorPrimitives.Sum(row);
            case ReduceOp.Mean: return TensorPrimitives.Sum(row) / T.CreateTruncating(row.Length);
            case ReduceOp.Max: return Extremum.Max(row);
            case ReduceOp.Min: return Extremum.Min(row);
            case ReduceOp.LogSumExp: return LogSumExp(row);
            default: throw new NotSupportedException($"reduce {op}");
        }
    }

    /// <summary>log Σ exp(x) with the maximum subtracted first (−∞ for an all −∞ row).</summary>
    public static T LogSumExp<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T m = Extremum.Max(row);
        if (T.IsNegativeInfinity(m) || T.IsNaN(m)) return m;
        var tmp = ArrayPool<T>.Shared.Rent(row.Length);
        var t = tmp.AsSpan(0, row.Length);
        TensorPrimitives.Subtract(row, m, t);
        TensorPrimitives.Exp(t, t);
        T s = TensorPrimitives.Sum(t);
        ArrayPool<T>.Shared.Return(tmp);
        return m + T.Log(s);
    }

    /// <summary>
    /// Pieces of a long row reduced in parallel: about n / 32, a power of two between 32 Ki and 512 Ki elements (it depends on
    /// n alone, so the result does not depend on the thread count); long rows stream faster in large pieces than in small
    /// ones. Sums read each piece as four streams (<see cref="StreamSum"/>); rows of a few KiB do not gain from that, so
    /// they keep one stream (docs/perf.md, "Long reductions read four streams").
    /// </summary>
    private static int LongRowChunk(int n) => Math.Clamp(1 << Math.Max(0, BitOperations.Log2((uint)(n / 32))), Chunk, 1 << 19);

    private static T ReduceLongRow<T>(ReduceOp op, T* x, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int chunk = LongRowChunk(n), chunks = (n - 1) / chunk + 1; // no int overflow for n near int.MaxValue
        var part = new T[chunks];
        nint px = (nint)x;
        ReduceOp inner = op == ReduceOp.Mean ? ReduceOp.Sum : op;
        Parallelism.For(chunks, c =>
        {
            int s = c * chunk;
            var piece = new ReadOnlySpan<T>((T*)px + s, Math.Min(chunk, n - s));
            part[c] = inner == ReduceOp.Sum ? StreamSum.Sum(piece) : ReduceRow(inner, piece);
        });
        switch (op)
        {
            case ReduceOp.Sum: return Sum(part);
            case ReduceOp.Mean: return Sum(part) / T.CreateTruncating(n);
            case ReduceOp.Max: return TensorPrimitives.Max<T>(part);
            case ReduceOp.Min: return TensorPrimitives.Min<T>(part);
            case ReduceOp.LogSumExp: return LogSumExp<T>(part);
            default: throw new NotSupportedException($"reduce {op}");
        }
    }

    private static T Sum<T>(T[] part) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T s = T.Zero;
        foreach (var p in part) s += p;
        return s;
    }
}
