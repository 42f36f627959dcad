namespace LightNet.Autograd;

public sealed partial class Variable
{
    private int[] KeepDimsShape(int[] red) => Enumerable.Range(0, Rank).Select(i => red.Contains(i) ? 1 : Size(i)).ToArray();

    private int[] Axes(int[]? axes) => axes == null || axes.Length == 0
        ? Enumerable.Range(0, Rank).ToArray()
        : axes.Select(a => a < 0 ? a + Rank : a).ToArray();

    /// <summary>Broadcasts a reduced gradient back to the input shape (contiguous).</summary>
    private Tensor Spread(Tensor g, int[] red)
    {
        using var k = g.Reshape(KeepDimsShape(red));
        using var e = k.Expand(Shape.ToArray());
        return e.Contiguous();
    }

    /// <summary>Differentiable sum over axes (all when null or empty).</summary>
    public Variable Sum(int[]? axes = null, bool keepDims = false)
    {
        var red = Axes(axes);
        return Graph.Record("sum", Data.Sum(axes, keepDims), [this], g => [Spread(g, red)]);
    }

    /// <summary>Differentiable sum over one axis.</summary>
    public Variable Sum(int axis, bool keepDims = false) => Sum([axis], keepDims);

    /// <summary>Differentiable mean over axes (all when null or empty).</summary>
    public Variable Mean(int[]? axes = null, bool keepDims = false)
    {
        var red = Axes(axes);
        long n = 1; foreach (var a in red) n *= Size(a);
        return Graph.Record("mean", Data.Mean(axes, keepDims), [this], g => { using var s = Spread(g, red); return [s / n]; });
    }

    /// <summary>Differentiable mean over one axis.</summary>
    public Variable Mean(int axis, bool keepDims = false) => Mean([axis], keepDims);

    private Variable Extreme(ReduceOp op, int[]? axes, bool keepDims)
    {
        var red = Axes(axes);
        var y = Data.Reduce(op, axes, keepDims);
        return Graph.Record(op == ReduceOp.Max ? "max" : "min", y, [this], g =>
        {
            // The gradient goes to every element equal to the extreme, split evenly among ties.
            using var yk = y.Reshape(KeepDimsShape(red));
            using var mask = Data.Eq(yk);
            using var cnt = mask.Sum(red, keepDims: true);
            using var gs = Spread(g, red);
            using var t = gs * mask;
            return [t / cnt];
        });
    }

    /// <summary>Maximum over axes (all when null or empty); the gradient is split evenly among tied maxima.</summary>
    public Variable Max(int[]? axes = null, bool keepDims = false) => Extreme(ReduceOp.Max, axes, keepDims);
    /// <summary>Maximum over one axis; the gradient is split evenly among tied maxima.</summary>
    public Variable Max(int axis, bool keepDims = false) => Extreme(ReduceOp.Max, [axis], keepDims);
    /// <summary>Minimum over axes (all when null or empty); the gradient is split evenly among tied minima.</summary>
    public Variable Min(int[]? axes = null, bool keepDims = false) => Extreme(ReduceOp.Min, axes, keepDims);
    /// <summary>Minimum over one axis; the gradient is split evenly among tied minima.</summary>
    public Variable Min(int axis, bool keepDims = false) => Extreme(ReduceOp.Min, [axis], keepDims);

    /// <summary>Differentiable log Σ exp over axes (all when null or empty); gradient is the softmax.</summary>
    public Variable LogSumExp(int[]? axes = null, bool keepDims = false)
    {
        var red = Axes(axes);
        var y = Data.LogSumExp(axes, keepDims);
        return Graph.Record("logsumexp", y, [this], g =>
        {
            using var yk = y.Reshape(KeepDimsShape(red));
            using var d = Data - yk;
            using var p = d.Exp();
            using var gs = Spread(g, red);
            return [gs * p];
        });
    }

    /// <summary>Differentiable log Σ exp over one axis.</summary>
    public Variable LogSumExp(int axis, bool keepDims = false) => LogSumExp([axis], keepDims);

    /// <summary>Variance with Bessel's correction by default (composed of differentiable ops).</summary>
    public Variable Var(int[]? axes = null, bool keepDims = false, int correction = 1)
    {
        var red = Axes(axes);
        long n = 1; foreach (var a in red) n *= Size(a);
        var d = this - Mean(red, keepDims: true);
        return d.Square().Sum(red, keepDims) / (double)(n - correction);
    }
}
