namespace LightNet.Cpu;

/// <summary>
/// Iteration plan over a shape shared by several strided operands: axes that are laid out
/// consecutively in every operand are merged, the last merged axis becomes the inner "row", and each
/// outer index maps to one element offset per operand.
/// </summary>
internal sealed class StridedRows
{
    private readonly int[] _outer;
    private readonly long[][] _outerStrides;

    /// <summary>Length of the inner row.</summary>
    public int RowLength { get; }
    /// <summary>Stride of the inner row, per operand.</summary>
    public long[] RowStrides { get; }
    /// <summary>Number of rows.</summary>
    public long Rows { get; }

    public StridedRows(ReadOnlySpan<int> shape, params long[][] strides)
    {
        var dims = new List<int>();
        var strs = strides.Select(_ => new List<long>()).ToArray();
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            if (dims.Count > 0)
            {
                int last = dims.Count - 1;
                bool merge = true;
                for (int k = 0; k < strides.Length; k++)
                    if (strs[k][last] != strides[k][i] * shape[i]) { merge = false; break; }
                if (merge)
                {
                    dims[last] *= shape[i];
                    for (int k = 0; k < strides.Length; k++) strs[k][last] = strides[k][i];
                    continue;
                }
            }
            dims.Add(shape[i]);
            for (int k = 0; k < strides.Length; k++) strs[k].Add(strides[k][i]);
        }
        if (dims.Count == 0)
        {
            dims.Add(1);
            foreach (var s in strs) s.Add(1);
        }
        int r = dims.Count;
        RowLength = dims[r - 1];
        RowStrides = strs.Select(s => s[r - 1]).ToArray();
        _outer = dims.Take(r - 1).ToArray();
        _outerStrides = strs.Select(s => s.Take(r - 1).ToArray()).ToArray();
        long rows = 1;
        foreach (var d in _outer) rows *= d;
        Rows = shape.ToArray().Any(d => d == 0) ? 0 : rows;
    }

    /// <summary>Element offset of row <paramref name="row"/> in operand <paramref name="operand"/>.</summary>
    public long Offset(int operand, long row)
    {
        long off = 0;
        var st = _outerStrides[operand];
        for (int i = _outer.Length - 1; i >= 0; i--)
        {
            long q = row / _outer[i];
            off += (row - q * _outer[i]) * st[i];
            row = q;
        }
        return off;
    }

    /// <summary>
    /// Runs body(row, start, length) over fixed pieces of about <paramref name="grain"/> elements, in parallel: whole short rows
    /// (several to a task), a long row cut into pieces (so one contiguous row of a large tensor still uses every core).
    /// The partition depends only on the shape, never on the thread count.
    /// </summary>
    public void ForPieces(long grain, Action<long, int, int> body)
    {
        if (Rows == 0 || RowLength == 0) return;
        if (RowLength >= grain)
        {
            int pieces = (int)((RowLength + grain - 1) / grain), len = (int)((RowLength + pieces - 1) / pieces);
            Parallelism.For(checked((int)(Rows * pieces)), i =>
            {
                long r = i / pieces;
                int start = (int)(i % pieces) * len;
                if (start < RowLength) body(r, start, Math.Min(len, RowLength - start));
            });
            return;
        }
        long perChunk = grain / RowLength;
        long chunks = (Rows + perChunk - 1) / perChunk;
        Parallelism.For(checked((int)chunks), c =>
        {
            long s = c * perChunk, e = Math.Min(Rows, s + perChunk);
            for (long r = s; r < e; r++) body(r, 0, RowLength);
        });
    }
}
