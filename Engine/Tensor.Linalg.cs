namespace LightNet;

public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product with torch.matmul semantics: 1-D operands are promoted, batch axes broadcast, and
    /// transposed views are used without copies.
    /// </summary>
    public static Tensor Matmul(Tensor a, Tensor b)
    {
        SameDevice("matmul", a, b);
        SameDType("matmul", a, b);
        a.RequireFloating("matmul", "a");
        if (a.Rank == 0 || b.Rank == 0) throw new ShapeException($"matmul: operands must have at least 1 dimension, got a {a.Shape} and b {b.Shape}");
        using var a2 = a.Rank == 1 ? a.Unsqueeze(0) : a.MakeView(a._shape, a._strides, a.Offset);
        using var b2 = b.Rank == 1 ? b.Unsqueeze(1) : b.MakeView(b._shape, b._strides, b.Offset);
        int m = a2.Size(-2), k = a2.Size(-1), k2 = b2.Size(-2), n = b2.Size(-1);
        if (k != k2) throw new ShapeException($"matmul: inner dimensions differ: a {a.Shape} has {k} columns, b {b.Shape} has {k2} rows");
        var ba = a2._shape[..^2];
        var bb = b2._shape[..^2];
        var batch = Shape.Broadcast("matmul", Shape.Wrap(ba), Shape.Wrap(bb));
        int nb = 1; foreach (var d in batch) nb *= d;
        using var ea = a2.Expand([.. batch, m, k]);
        using var eb = b2.Expand([.. batch, k, n]);
        using var a3 = ea.FlattenBatch(nb);
        using var b3 = eb.FlattenBatch(nb);
        using var c = Empty([nb, m, n], a.DType, a.Device);
        a.Backend.Matmul(a3, b3, c, accumulate: false);
        var outShape = new List<int>(batch);
        if (a.Rank > 1) outShape.Add(m);
        if (b.Rank > 1) outShape.Add(n);
        return c.Reshape(outShape.ToArray());
    }

    /// <summary>Views [..batch, r, c] as [nb, r, c] when the batch axes merge into one stride; copies otherwise.</summary>
    private Tensor FlattenBatch(int nb)
    {
        int r = Rank;
        var axes = Enumerable.Range(0, r - 2).Where(i => _shape[i] != 1).ToArray();
        bool ok = true;
        for (int i = 0; i + 1 < axes.Length; i++)
            if (_strides[axes[i]] != _strides[axes[i + 1]] * _shape[axes[i + 1]]) { ok = false; break; }
        if (ok)
        {
            long stride = axes.Length == 0 ? 0 : _strides[axes[^1]];
            return MakeView([nb, _shape[r - 2], _shape[r - 1]], [stride, _strides[r - 2], _strides[r - 1]], Offset);
        }
        using var c = Contiguous();
        return c.View(nb, _shape[r - 2], _shape[r - 1]);
    }

    /// <summary><c>c (+)= a · b</c> into an existing 3-D [batch, m, n] tensor (used by backward rules to accumulate).</summary>
    public static void MatmulInto(Tensor a, Tensor b, Tensor c, bool accumulate)
    {
        if (a.Rank != 3 || b.Rank != 3 || c.Rank != 3 || a.Size(0) != c.Size(0) || b.Size(0) != c.Size(0) ||
            a.Size(1) != c.Size(1) || b.Size(2) != c.Size(2) || a.Size(2) != b.Size(1))
            throw new ShapeException($"matmul_into: shapes a {a.Shape}, b {b.Shape}, c {c.Shape} do not form [B,m,k]·[B,k,n]→[B,m,n]");
        a.Backend.Matmul(a, b, c, accumulate);
    }
}
