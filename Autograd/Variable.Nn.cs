namespace LightNet.Autograd;

public sealed partial class Variable
{
    /// <summary>Matrix product with torch.matmul semantics (1-D promotion, batch broadcasting).</summary>
    public static Variable Matmul(Variable a, Variable b)
    {
        if (a.Rank == 1) return Matmul(a.Unsqueeze(0), b).Squeeze(-2);
        if (b.Rank == 1) return Matmul(a, b.Unsqueeze(1)).Squeeze(-1);
        var y = Tensor.Matmul(a.Data, b.Data);
        return Graph.Record("matmul", y, [a, b], g =>
        {
            Tensor? ga = null, gb = null;
            if (a.RequiresGrad) { using var bt = b.Data.Transpose(-1, -2); using var t = Tensor.Matmul(g, bt); ga = SumTo(t, a.Shape); }
            if (b.RequiresGrad && g.Shape.Rank == 2 && IsColumnMajor(b.Data))
            {
                // b is a transposed view (Linear's Wᵀ): form (gᵀa)ᵀ, so the gradient reaching the weight is contiguous.
                using var gt = g.Transpose(-1, -2);
                using var t = Tensor.Matmul(gt, a.Data);
                gb = t.Transpose(-1, -2);
            }
            else if (b.RequiresGrad) { using var at = a.Data.Transpose(-1, -2); using var t = Tensor.Matmul(at, g); gb = SumTo(t, b.Shape); }
            return [ga, gb];
        });
    }

    /// <summary>
    /// <c>x Wᵀ</c> for x [..., in] and W [out, in] as one op. The input gradient <c>dY W</c> is added, inside the matrix
    /// product, into the partial gradient already gathered for x when the sweep has one (several projections of one
    /// input cost no separate adds); the weight gradient <c>dYᵀ x</c> is formed contiguous.
    /// </summary>
    public static Variable Linear(Variable x, Variable w)
    {
        if (w.Rank != 2 || x.Rank < 1 || x.Size(-1) != w.Size(1))
            throw new ShapeException($"linear: input {x.Shape} must end in {(w.Rank == 2 ? w.Size(1) : -1)} features for the weight {w.Shape} [out, in]");
        int inF = w.Size(1), outF = w.Size(0);
        var x2 = x.Data.Reshape(-1, inF); // a view when x is contiguous; kept for the weight gradient
        using var wt = w.Data.Transpose();
        using var y2 = Tensor.Matmul(x2, wt);
        var y = y2.Reshape([.. x.Shape.ToArray()[..^1], outF]);
        return Graph.Record("linear", y, [x, w], (g, pending) =>
        {
            using var g2 = g.Reshape(-1, outF);
            Tensor? dx = null, dw = null;
            if (x.RequiresGrad)
            {
                if (pending.Take(0) is { } partial)
                {
                    using var into = partial.Reshape(1, -1, inF);
                    using var g3 = g2.Unsqueeze(0);
                    using var w3 = w.Data.Unsqueeze(0);
                    Tensor.MatmulInto(g3, w3, into, accumulate: true);
                    dx = partial;
                }
                else
                {
                    using var t = Tensor.Matmul(g2, w.Data);
                    dx = t.Reshape(x.Shape.ToArray());
                }
            }
            if (w.RequiresGrad)
            {
                using var gt = g2.Transpose();
                dw = Tensor.Matmul(gt, x2);
            }
            return [dx, dw];
        });
    }

    /// <summary>A matrix whose rows are strided and whose columns are contiguous (the transpose of a contiguous matrix).</summary>
    private static bool IsColumnMajor(Tensor m) => m.Rank == 2 && m.Size(0) > 1 && m.Size(1) > 1 && m.Strides[0] == 1 && m.Strides[1] == m.Size(0);

    /// <summary>Differentiable softmax along an axis.</summary>
    public Variable Softmax(int axis = -1)
    {
        var y = Data.Softmax(axis);
        return Graph.Record("softmax", y, [this], g => [y.SoftmaxBackward(g, axis, log: false)]);
    }

    /// <summary>Differentiable log-softmax along an axis.</summary>
    public Variable LogSoftmax(int axis = -1)
    {
        var y = Data.LogSoftmax(axis);
        return Graph.Record("log_softmax", y, [this], g => [y.SoftmaxBackward(g, axis, log: true)]);
    }

    /// <summary>Inclusive cumulative sum; its adjoint is the reverse cumulative sum.</summary>
    public Variable Cumsum(int axis)
    {
        return Graph.Record("cumsum", Data.Cumsum(axis), [this], g =>
        {
            using var f = g.Flip(axis);
            using var c = f.Cumsum(axis);
            using var b = c.Flip(axis);
            return [b.Contiguous()];
        });
    }

    /// <summary>Inclusive log-cum-sum-exp; backward <c>dx_i = Σ_{j≥i} g_j exp(x_i − y_j)</c> in log space, split by the sign of g.</summary>
    public Variable LogCumSumExp(int axis)
    {
        var y = Data.LogCumSumExp(axis);
        return Graph.Record("logcumsumexp", y, [this], g =>
        {
            Tensor Part(bool positive)
            {
                using var z = Tensor.Zeros([], g.DType, g.Device);
                using var mask = positive ? g.Gt(0) : g.Lt(0);
                using var ag = g.Abs();
                using var ninf = Tensor.Full([], double.NegativeInfinity, g.DType, g.Device);
                using var lg = ag.Log();
                using var lgm = Tensor.Where(mask, lg, ninf);
                using var w = lgm - y;
                using var f = w.Flip(axis);
                using var c = f.LogCumSumExp(axis);
                using var r = c.Flip(axis);
                using var s = r + Data;
                return s.Exp();
            }
            using var p = Part(true);
            using var n = Part(false);
            return [p - n];
        });
    }

    /// <summary>Rows picked along an axis by an int64 index of any shape.</summary>
    public Variable IndexSelect(int axis, Tensor index)
    {
        var inShape = Shape;
        int a = axis < 0 ? axis + Rank : axis;
        return Graph.Record("index_select", Data.IndexSelect(axis, index), [this], g =>
        {
            var rows = g.Shape.ToArray();
            var collapsed = rows[..a].Append((int)index.Numel).Concat(rows[(a + index.Rank)..]).ToArray();
            using var g2 = g.Reshape(collapsed);
            return [Tensor.IndexAdd(inShape, a, index, g2)];
        });
    }

    /// <summary>Adjoint of <see cref="IndexSelect"/> (differentiable): adds the rows of <paramref name="src"/> into zeros of <paramref name="shape"/> at the positions a 1-D int64 index names along an axis (repeated positions sum).</summary>
    public static Variable IndexAdd(Shape shape, int axis, Tensor index, Variable src) =>
        Graph.Record("index_add", Tensor.IndexAdd(shape, axis, index, src.Data), [src], g => [g.IndexSelect(axis, index)]);

    /// <summary>Embedding lookup of int64 ids in a [V, c] table.</summary>
    public static Variable Embedding(Variable table, Tensor ids)
    {
        if (table.Rank != 2) throw new ShapeException($"embedding: 'table' must be [V, c], got {table.Shape}");
        return table.IndexSelect(0, ids);
    }

    /// <summary>Differentiable torch.gather along an axis by an int64 index of this rank; the gradient is scattered back.</summary>
    public Variable Gather(int axis, Tensor index)
    {
        return Graph.Record("gather", Data.Gather(axis, index), [this], g =>
        {
            using var z = Tensor.Zeros(Shape, g.DType, g.Device);
            return [z.ScatterAdd(axis, index, g)];
        });
    }

    /// <summary>Differentiable torch.scatter_add: this plus <paramref name="src"/> added at int64 <paramref name="index"/> along an axis.</summary>
    public Variable ScatterAdd(int axis, Tensor index, Variable src)
    {
        return Graph.Record("scatter_add", Data.ScatterAdd(axis, index, src.Data), [this, src], g =>
            [RequiresGrad ? g.Contiguous() : null, src.RequiresGrad ? g.Gather(axis, index) : null]);
    }

    /// <summary>Mean cross-entropy of logits [N, C] against int64 targets [N], skipping <paramref name="ignoreIndex"/>.</summary>
    public static Variable CrossEntropy(Variable logits, Tensor targets, long ignoreIndex = -100)
    {
        var (rows, lse) = Tensor.CrossEntropyRows(logits.Data, targets, ignoreIndex);
        long count = Math.Max(1, Tensor.CountNotIgnored(targets, ignoreIndex));
        using var s = rows.Sum();
        rows.Dispose();
        var y = s / count;
        return Graph.Record("cross_entropy", y, [logits], g =>
        {
            double scale = g.Item() / count;
            using var d = Tensor.Full([logits.Size(0)], scale, logits.DType, logits.Device);
            return [Tensor.CrossEntropyRowsBackward(logits.Data, targets, lse, d, ignoreIndex)];
        });
    }

    /// <summary>Differentiable SwiGLU product <c>SiLU(gate) ⊙ up</c>, one fused pass forward and backward.</summary>
    public static Variable SwiGlu(Variable gate, Variable up)
    {
        var y = Tensor.SwiGlu(gate.Data, up.Data);
        return Graph.Record("swiglu", y, [gate, up], g =>
        {
            var (da, db) = Tensor.SwiGluBackward(gate.Data, up.Data, g);
            return [da, db];
        });
    }

    /// <summary>Differentiable output gate <c>RMSNorm(x) ⊙ weight ⊙ SiLU(u)</c>, one fused pass forward and backward.</summary>
    public static Variable RmsNormGate(Variable x, Variable weight, Variable u, double eps)
    {
        var (y, rstd) = Tensor.RmsNormGate(x.Data, weight.Data, u.Data, eps);
        return Graph.Record("rms_norm_gate", y, [x, weight, u], g =>
        {
            var (dx, dw, du) = Tensor.RmsNormGateBackward(x.Data, weight.Data, u.Data, rstd, g);
            return [dx, dw, du];
        });
    }

    /// <summary>RMSNorm over the last axis with an optional weight.</summary>
    public static Variable RmsNorm(Variable x, Variable? weight, double eps)
    {
        var (y, rstd) = Tensor.RmsNorm(x.Data, weight?.Data, eps);
        Variable[] inputs = weight == null ? [x] : [x, weight];
        return Graph.Record("rms_norm", y, inputs, g =>
        {
            var (dx, dw) = Tensor.RmsNormBackward(x.Data, weight?.Data, rstd, g);
            return weight == null ? [dx] : [dx, dw];
        });
    }

    /// <summary>LayerNorm over the last axis with optional weight and bias.</summary>
    public static Variable LayerNorm(Variable x, Variable? weight, Variable? bias, double eps)
    {
        var (y, mean, rstd) = Tensor.LayerNorm(x.Data, weight?.Data, bias?.Data, eps);
        var inputs = new List<Variable> { x };
        if (weight != null) inputs.Add(weight);
        if (bias != null) inputs.Add(bias);
        return Graph.Record("layer_norm", y, inputs.ToArray(), g =>
        {
            var (dx, dw, db) = Tensor.LayerNormBackward(x.Data, weight?.Data, bias != null, mean, rstd, g);
            var r = new List<Tensor?> { dx };
            if (weight != null) r.Add(dw);
            if (bias != null) r.Add(db);
            return r.ToArray();
        });
    }
}
