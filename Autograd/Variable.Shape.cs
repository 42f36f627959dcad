namespace LightNet.Autograd;

public sealed partial class Variable
{
    /// <summary>Differentiable <see cref="Tensor.Reshape"/> (one size may be −1).</summary>
    public Variable Reshape(params int[] shape)
    {
        var inShape = Shape.ToArray();
        return Graph.Record("reshape", Data.Reshape(shape), [this], g => [g.Reshape(inShape)]);
    }

    /// <summary>Differentiable axis reordering: result axis i is input axis axes[i].</summary>
    public Variable Permute(params int[] axes)
    {
        var inv = new int[axes.Length];
        for (int i = 0; i < axes.Length; i++) inv[axes[i] < 0 ? axes[i] + axes.Length : axes[i]] = i;
        return Graph.Record("permute", Data.Permute(axes), [this], g => [g.Permute(inv)]);
    }

    /// <summary>Differentiable swap of two axes (the last two by default).</summary>
    public Variable Transpose(int axis0 = -2, int axis1 = -1) =>
        Graph.Record("transpose", Data.Transpose(axis0, axis1), [this], g => [g.Transpose(axis0, axis1)]);

    /// <summary>Scatters a gradient of a view back into zeros of this variable's shape.</summary>
    private Tensor[] IntoZeros(Tensor g, Func<Tensor, Tensor> view)
    {
        var z = Tensor.Zeros(Shape, g.DType, g.Device);
        using var v = view(z);
        v.CopyFrom(g);
        return [z];
    }

    /// <summary>Differentiable view of elements start … start+length−1 along an axis.</summary>
    public Variable Narrow(int axis, int start, int length) =>
        Graph.Record("narrow", Data.Narrow(axis, start, length), [this], g => IntoZeros(g, z => z.Narrow(axis, start, length)));

    /// <summary>Differentiable Python-style slice <c>[start:end:step]</c> along an axis.</summary>
    public Variable Slice(int axis, int start, int end, int step = 1) =>
        Graph.Record("slice", Data.Slice(axis, start, end, step), [this], g => IntoZeros(g, z => z.Slice(axis, start, end, step)));

    /// <summary>Differentiable sub-tensor at an index along an axis, with that axis removed.</summary>
    public Variable Select(int axis, int index) =>
        Graph.Record("select", Data.Select(axis, index), [this], g => IntoZeros(g, z => z.Select(axis, index)));

    /// <summary>Differentiable broadcast of size-1 axes to a shape; the gradient is summed back.</summary>
    public Variable Expand(params int[] shape)
    {
        var inShape = Shape;
        return Graph.Record("expand", Data.Expand(shape), [this], g => [SumTo(g, inShape)]);
    }

    /// <summary>Differentiable removal of a size-1 axis (or all of them when axis is null).</summary>
    public Variable Squeeze(int? axis = null)
    {
        var inShape = Shape.ToArray();
        return Graph.Record("squeeze", Data.Squeeze(axis), [this], g => [g.Reshape(inShape)]);
    }

    /// <summary>Differentiable insertion of a size-1 axis.</summary>
    public Variable Unsqueeze(int axis)
    {
        var inShape = Shape.ToArray();
        return Graph.Record("unsqueeze", Data.Unsqueeze(axis), [this], g => [g.Reshape(inShape)]);
    }

    /// <summary>Differentiable flattening of axes startAxis … endAxis into one.</summary>
    public Variable Flatten(int startAxis = 0, int endAxis = -1)
    {
        var inShape = Shape.ToArray();
        return Graph.Record("flatten", Data.Flatten(startAxis, endAxis), [this], g => [g.Reshape(inShape)]);
    }

    /// <summary>Differentiable contiguous copy (the same data when already contiguous).</summary>
    public Variable Contiguous() => Graph.Record("contiguous", Data.Contiguous(), [this], g => [g]);

    /// <summary>Differentiable reversal of the elements along an axis.</summary>
    public Variable Flip(int axis) => Graph.Record("flip", Data.Flip(axis), [this], g => [g.Flip(axis)]);

    /// <summary>Joins variables along an axis.</summary>
    public static Variable Concat(IReadOnlyList<Variable> xs, int axis = 0)
    {
        var y = Tensor.Concat(xs.Select(x => x.Data).ToList(), axis);
        var sizes = xs.Select(x => x.Size(axis)).ToArray();
        return Graph.Record("concat", y, xs.ToArray(), g => g.Split(sizes, axis).Select(t => (Tensor?)t).ToArray());
    }

    /// <summary>Stacks variables along a new axis.</summary>
    public static Variable Stack(IReadOnlyList<Variable> xs, int axis = 0)
    {
        int a = axis < 0 ? axis + xs[0].Rank + 1 : axis;
        return Concat(xs.Select(x => x.Unsqueeze(a)).ToList(), a);
    }

    /// <summary>Splits into pieces of the given sizes along an axis.</summary>
    public Variable[] Split(int[] sizes, int axis = 0)
    {
        var r = new Variable[sizes.Length];
        int off = 0;
        for (int i = 0; i < sizes.Length; i++) { r[i] = Narrow(axis, off, sizes[i]); off += sizes[i]; }
        return r;
    }

    /// <summary>Splits into equal pieces along an axis.</summary>
    public Variable[] Chunk(int chunks, int axis = 0)
    {
        int n = Size(axis);
        if (chunks <= 0 || n % chunks != 0) throw new ShapeException($"chunk: axis {axis} of size {n} (shape {Shape}) does not split into {chunks} equal parts");
        return Split(Enumerable.Repeat(n / chunks, chunks).ToArray(), axis);
    }
}
