namespace LightNet;

public sealed partial class Tensor
{
    /// <summary>Normalised, sorted, distinct axes (all axes when null or empty).</summary>
    internal int[] NormAxes(string op, int[]? axes)
    {
        if (axes == null || axes.Length == 0) return Enumerable.Range(0, Rank).ToArray();
        var r = axes.Select(a => NormAxis(op, a)).Distinct().OrderBy(a => a).ToArray();
        if (r.Length != axes.Length) throw new ShapeException($"{op}: repeated axis in [{string.Join(", ", axes)}] for shape {Shape}");
        return r;
    }

    /// <summary>Reduces over <paramref name="axes"/> (all when null); keeps them as size 1 when asked.</summary>
    public Tensor Reduce(ReduceOp op, int[]? axes = null, bool keepDims = false)
    {
        string name = op.ToString().ToLowerInvariant();
        RequireFloating(name);
        var red = NormAxes(name, axes);
        var kept = Enumerable.Range(0, Rank).Where(i => !red.Contains(i)).ToArray();
        long rows = 1; foreach (var k in kept) rows *= _shape[k];
        long n = 1; foreach (var k in red) n *= _shape[k];
        if (n == 0 && op is not (ReduceOp.Sum or ReduceOp.LogSumExp))
            throw new ShapeException($"{name}: cannot reduce an empty axis (shape {Shape})");
        using var p = Permute(kept.Concat(red).ToArray());
        using var c = p.Contiguous();
        using var v = c.View((int)rows, (int)n);
        var outDt = op is ReduceOp.ArgMax or ReduceOp.ArgMin ? DType.Int64 : DType;
        using var y = Empty([(int)rows], outDt, Device);
        Backend.Reduce(op, v, y);
        var outShape = keepDims
            ? Enumerable.Range(0, Rank).Select(i => red.Contains(i) ? 1 : _shape[i]).ToArray()
            : kept.Select(i => _shape[i]).ToArray();
        return y.Reshape(outShape);
    }

    /// <summary>Sum over axes (all when null or empty); an empty axis sums to 0.</summary>
    public Tensor Sum(int[]? axes = null, bool keepDims = false) => Reduce(ReduceOp.Sum, axes, keepDims);
    /// <summary>Sum over one axis (negative counts from the end).</summary>
    public Tensor Sum(int axis, bool keepDims = false) => Reduce(ReduceOp.Sum, [axis], keepDims);
    /// <summary>Mean over axes (all when null or empty); throws <see cref="ShapeException"/> on an empty axis.</summary>
    public Tensor Mean(int[]? axes = null, bool keepDims = false) => Reduce(ReduceOp.Mean, axes, keepDims);
    /// <summary>Mean over one axis.</summary>
    public Tensor Mean(int axis, bool keepDims = false) => Reduce(ReduceOp.Mean, [axis], keepDims);
    /// <summary>Maximum over axes (all when null or empty); throws <see cref="ShapeException"/> on an empty axis.</summary>
    public Tensor Max(int[]? axes = null, bool keepDims = false) => Reduce(ReduceOp.Max, axes, keepDims);
    /// <summary>Maximum over one axis (values only; <see cref="ArgMax"/> gives indices).</summary>
    public Tensor Max(int axis, bool keepDims = false) => Reduce(ReduceOp.Max, [axis], keepDims);
    /// <summary>Minimum over axes (all when null or empty); throws <see cref="ShapeException"/> on an empty axis.</summary>
    public Tensor Min(int[]? axes = null, bool keepDims = false) => Reduce(ReduceOp.Min, axes, keepDims);
    /// <summary>Minimum over one axis (values only; <see cref="ArgMin"/> gives indices).</summary>
    public Tensor Min(int axis, bool keepDims = false) => Reduce(ReduceOp.Min, [axis], keepDims);
    /// <summary>Index of the maximum along one axis (int64).</summary>
    public Tensor ArgMax(int axis, bool keepDims = false) => Reduce(ReduceOp.ArgMax, [axis], keepDims);
    /// <summary>Index of the minimum along one axis (int64).</summary>
    public Tensor ArgMin(int axis, bool keepDims = false) => Reduce(ReduceOp.ArgMin, [axis], keepDims);
    /// <summary>log Σ exp over axes, computed with the maximum subtracted.</summary>
    public Tensor LogSumExp(int[]? axes = null, bool keepDims = false) => Reduce(ReduceOp.LogSumExp, axes, keepDims);
    /// <summary>log Σ exp over one axis, computed with the maximum subtracted.</summary>
    public Tensor LogSumExp(int axis, bool keepDims = false) => Reduce(ReduceOp.LogSumExp, [axis], keepDims);

    /// <summary>Variance over axes with Bessel's correction (<paramref name="correction"/> = 1) by default.</summary>
    public Tensor Var(int[]? axes = null, bool keepDims = false, int correction = 1)
    {
        var red = NormAxes("var", axes);
        long n = 1; foreach (var k in red) n *= _shape[k];
        if (n - correction <= 0) throw new ShapeException($"var: {n} elements with correction {correction} (shape {Shape})");
        using var m = Mean(red, keepDims: true);
        using var d = this - m;
        using var sq = d.Square();
        using var s = sq.Sum(red, keepDims);
        return s / (n - correction);
    }
}
