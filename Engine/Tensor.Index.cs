namespace LightNet;

public sealed partial class Tensor
{
    private static void CheckIndexTensor(string op, Tensor idx, Tensor x)
    {
        if (idx.DType != DType.Int64) throw new ShapeException($"{op}: 'index' must be int64, got {idx.DType.Name()} {idx.Shape}");
        SameDevice(op, x, idx, "x", "index");
    }

    private (int Outer, int N, int Inner) Split3(int axis)
    {
        int o = 1, inner = 1;
        for (int i = 0; i < axis; i++) o *= _shape[i];
        for (int i = axis + 1; i < Rank; i++) inner *= _shape[i];
        return (o, _shape[axis], inner);
    }

    /// <summary>Rows of this tensor along <paramref name="axis"/> picked by an int64 index of any shape (the axis is replaced by the index's shape).</summary>
    public Tensor IndexSelect(int axis, Tensor index)
    {
        CheckIndexTensor("index_select", index, this);
        int a = NormAxis("index_select", axis);
        var (o, n, inner) = Split3(a);
        using var xc = Contiguous();
        using var ic = index.Contiguous();
        using var flatIdx = ic.Reshape(-1);
        int m = flatIdx.Size(0);
        var outShape = _shape[..a].Concat(index._shape).Concat(_shape[(a + 1)..]).ToArray();
        var y = Empty(outShape, DType, Device);
        using var x3 = xc.View(o, n, inner);
        using var y3 = y.View(o, m, inner);
        Backend.IndexSelect(x3, flatIdx, y3);
        return y;
    }

    /// <summary>Embedding lookup: rows of a [V, c] table for int64 ids of any shape.</summary>
    public static Tensor Embedding(Tensor table, Tensor ids)
    {
        if (table.Rank != 2) throw new ShapeException($"embedding: 'table' must be [V, c], got {table.Shape}");
        return table.IndexSelect(0, ids);
    }

    /// <summary>Adjoint of <see cref="IndexSelect"/>: adds <paramref name="src"/> rows into a zero tensor of <paramref name="shape"/> at the indexed positions.</summary>
    public static Tensor IndexAdd(Shape shape, int axis, Tensor index, Tensor src)
    {
        CheckIndexTensor("index_add", index, src);
        var y = Zeros(shape, src.DType, src.Device);
        int a = y.NormAxis("index_add", axis);
        var (o, n, inner) = y.Split3(a);
        using var ic = index.Contiguous();
        using var flat = ic.Reshape(-1);
        int m = flat.Size(0);
        if (src.Numel != (long)o * m * inner) throw new ShapeException($"index_add: 'src' {src.Shape} does not match index {index.Shape} on axis {axis} of {shape}");
        using var sc = src.Contiguous();
        using var s3 = sc.View(o, m, inner);
        using var y3 = y.View(o, n, inner);
        y.Backend.IndexAdd(y3, flat, s3);
        return y;
    }

    /// <summary>torch.gather: <c>y[…, j, …] = x[…, index[…, j, …], …]</c> along an axis; index has this rank.</summary>
    public Tensor Gather(int axis, Tensor index)
    {
        CheckIndexTensor("gather", index, this);
        int a = NormAxis("gather", axis);
        if (index.Rank != Rank) throw new ShapeException($"gather: 'index' {index.Shape} must have the rank of x {Shape}");
        for (int i = 0; i < Rank; i++)
            if (i != a && index._shape[i] != _shape[i]) throw new ShapeException($"gather: 'index' {index.Shape} must match x {Shape} except on axis {axis}");
        var (o, n, inner) = Split3(a);
        using var xc = Contiguous();
        using var ic = index.Contiguous();
        var y = Empty(index.Shape, DType, Device);
        using var x3 = xc.View(o, n, inner);
        using var i3 = ic.View(o, index._shape[a], inner);
        using var y3 = y.View(o, index._shape[a], inner);
        Backend.Gather(x3, i3, y3);
        return y;
    }

    /// <summary>torch.scatter_add: a copy of this tensor with <paramref name="src"/> added at <paramref name="index"/> along an axis.</summary>
    public Tensor ScatterAdd(int axis, Tensor index, Tensor src)
    {
        CheckIndexTensor("scatter_add", index, this);
        SameDType("scatter_add", this, src, "self", "src");
        int a = NormAxis("scatter_add", axis);
        if (index.Shape != src.Shape || index.Rank != Rank) throw new ShapeException($"scatter_add: 'index' {index.Shape} and 'src' {src.Shape} must have equal shapes of rank {Rank}");
        for (int i = 0; i < Rank; i++)
            if (i != a && index._shape[i] != _shape[i]) throw new ShapeException($"scatter_add: 'index' {index.Shape} must match self {Shape} except on axis {axis}");
        var (o, n, inner) = Split3(a);
        var y = Clone();
        using var ic = index.Contiguous();
        using var sc = src.Contiguous();
        using var y3 = y.View(o, n, inner);
        using var i3 = ic.View(o, index._shape[a], inner);
        using var s3 = sc.View(o, index._shape[a], inner);
        Backend.ScatterAdd(y3, i3, s3);
        return y;
    }
}
