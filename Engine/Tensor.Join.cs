namespace LightNet;

public sealed partial class Tensor
{
    /// <summary>Joins tensors along an existing axis.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        if (tensors.Count == 0) throw new ShapeException("concat: no tensors given");
        var f = tensors[0];
        int a = f.NormAxis("concat", axis);
        int total = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            SameDevice("concat", f, t, "tensors[0]", $"tensors[{i}]");
            SameDType("concat", f, t, "tensors[0]", $"tensors[{i}]");
            if (t.Rank != f.Rank) throw new ShapeException($"concat: tensors[{i}] {t.Shape} has a different rank from tensors[0] {f.Shape}");
            for (int d = 0; d < f.Rank; d++)
                if (d != a && t._shape[d] != f._shape[d]) throw new ShapeException($"concat: tensors[{i}] {t.Shape} differs from tensors[0] {f.Shape} outside axis {axis}");
            total += t._shape[a];
        }
        var shape = (int[])f._shape.Clone();
        shape[a] = total;
        var y = Empty(shape, f.DType, f.Device);
        int off = 0;
        foreach (var t in tensors)
        {
            using var dst = y.Narrow(a, off, t._shape[a]);
            dst.CopyFrom(t);
            off += t._shape[a];
        }
        return y;
    }

    /// <summary>Joins equally shaped tensors along a new axis.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        if (tensors.Count == 0) throw new ShapeException("stack: no tensors given");
        var views = tensors.Select(t => t.Unsqueeze(axis < 0 ? axis + t.Rank + 1 : axis)).ToList();
        try { return Concat(views, axis < 0 ? axis + tensors[0].Rank + 1 : axis); }
        finally { foreach (var v in views) v.Dispose(); }
    }

    /// <summary>Splits along an axis into views of the given sizes.</summary>
    public Tensor[] Split(int[] sizes, int axis = 0)
    {
        int a = NormAxis("split", axis);
        if (sizes.Sum() != _shape[a] || sizes.Any(s => s < 0)) throw new ShapeException($"split: sizes [{string.Join(", ", sizes)}] do not add up to axis {axis} of size {_shape[a]} (shape {Shape})");
        var r = new Tensor[sizes.Length];
        int off = 0;
        for (int i = 0; i < sizes.Length; i++) { r[i] = Narrow(a, off, sizes[i]); off += sizes[i]; }
        return r;
    }

    /// <summary>Splits along an axis into <paramref name="chunks"/> equal views.</summary>
    public Tensor[] Chunk(int chunks, int axis = 0)
    {
        int a = NormAxis("chunk", axis);
        if (chunks <= 0 || _shape[a] % chunks != 0) throw new ShapeException($"chunk: axis {axis} of size {_shape[a]} (shape {Shape}) does not split into {chunks} equal parts");
        return Split(Enumerable.Repeat(_shape[a] / chunks, chunks).ToArray(), a);
    }
}
