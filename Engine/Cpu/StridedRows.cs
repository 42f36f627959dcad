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

    /// <summary>Runs body(firstRow, rowCount) over fixed partitions of about <paramref name="grain"/> elements.</summary>
    public void ForRows(long grain, Action<long, long> body)
    {
        long perChunk = Math.Max(1, grain / Math.Max(1, RowLength));
        long chunks = (Rows + perChunk - 1) / perChunk;
        if (chunks <= 1) { if (Rows > 0) body(0, Rows); return; }
        Parallelism.For((int)chunks, c =>
        {
            long s = c * perChunk;
            body(s, Math.Min(perChunk, Rows - s));
        });
    }
}
