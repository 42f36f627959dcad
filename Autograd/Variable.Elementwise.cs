namespace LightNet.Autograd;

public sealed partial class Variable
{
    /// <summary>Sums a broadcast gradient back to <paramref name="shape"/>.</summary>
    internal static Tensor SumTo(Tensor g, Shape shape)
    {
        if (g.Shape == shape) return g.Reshape(shape.ToArray());
        int lead = g.Rank - shape.Rank;
        var axes = new List<int>();
        for (int i = 0; i < g.Rank; i++)
            if (i < lead || (shape[i - lead] == 1 && g.Size(i) != 1)) axes.Add(i);
        using var s = g.Sum(axes.ToArray(), keepDims: true);
        return s.Reshape(shape.ToArray());
    }

    /// <summary>Differentiable elementwise function.</summary>
    internal Variable Unary(UnaryOp op)
    {
        var y = Data.Apply(op);
        return Graph.Record(OpRegistry.Name(op), y, [this], g => [Data.ApplyBackward(op, y, g)]);
    }

    /// <summary>Differentiable −x.</summary>
    public Variable Neg() => Unary(UnaryOp.Neg);
    /// <summary>Differentiable eˣ.</summary>
    public Variable Exp() => Unary(UnaryOp.Exp);
    /// <summary>Differentiable natural logarithm; gradient g/x.</summary>
    public Variable Log() => Unary(UnaryOp.Log);
    /// <summary>Differentiable √x.</summary>
    public Variable Sqrt() => Unary(UnaryOp.Sqrt);
    /// <summary>Differentiable 1/√x.</summary>
    public Variable Rsqrt() => Unary(UnaryOp.Rsqrt);
    /// <summary>Differentiable hyperbolic tangent.</summary>
    public Variable Tanh() => Unary(UnaryOp.Tanh);
    /// <summary>Differentiable logistic σ(x).</summary>
    public Variable Sigmoid() => Unary(UnaryOp.Sigmoid);
    /// <summary>Differentiable x·σ(x).</summary>
    public Variable Silu() => Unary(UnaryOp.Silu);
    /// <summary>Differentiable exact GELU, x·Φ(x).</summary>
    public Variable Gelu() => Unary(UnaryOp.Gelu);
    /// <summary>Differentiable max(x, 0); gradient 0 at x = 0.</summary>
    public Variable Relu() => Unary(UnaryOp.Relu);
    /// <summary>Differentiable |x|; gradient 0 at x = 0.</summary>
    public Variable Abs() => Unary(UnaryOp.Abs);
    /// <summary>Differentiable x².</summary>
    public Variable Square() => Unary(UnaryOp.Square);
    /// <summary>Differentiable 1/x.</summary>
    public Variable Reciprocal() => Unary(UnaryOp.Reciprocal);
    /// <summary>Differentiable sine.</summary>
    public Variable Sin() => Unary(UnaryOp.Sin);
    /// <summary>Differentiable cosine.</summary>
    public Variable Cos() => Unary(UnaryOp.Cos);

    /// <summary>Elementwise binary op with broadcasting; comparisons produce a variable without gradient.</summary>
    public static Variable Binary(BinaryOp op, Variable a, Variable b)
    {
        var y = Tensor.Binary(op, a.Data, b.Data);
        if (!OpRegistry.Differentiable(op)) return new Variable(y);
        var sa = a.Shape; var sb = b.Shape;
        return Graph.Record(OpRegistry.Name(op), y, [a, b], g =>
        {
            Tensor? ga = null, gb = null;
            switch (op)
            {
                case BinaryOp.Add:
                    ga = a.RequiresGrad ? SumTo(g, sa) : null;
                    gb = b.RequiresGrad ? SumTo(g, sb) : null;
                    break;
                case BinaryOp.Sub:
                    ga = a.RequiresGrad ? SumTo(g, sa) : null;
                    if (b.RequiresGrad) { using var n = g.Neg(); gb = SumTo(n, sb); }
                    break;
                case BinaryOp.Mul:
                    if (a.RequiresGrad) { using var t = g * b.Data; ga = SumTo(t, sa); }
                    if (b.RequiresGrad) { using var t = g * a.Data; gb = SumTo(t, sb); }
                    break;
                case BinaryOp.Div:
                    if (a.RequiresGrad) { using var t = g / b.Data; ga = SumTo(t, sa); }
                    if (b.RequiresGrad) { using var t = g * y; using var u = t / b.Data; using var n = u.Neg(); gb = SumTo(n, sb); }
                    break;
                case BinaryOp.Pow:
                    if (a.RequiresGrad)
                    {
                        using var em1 = b.Data - 1.0; using var p = a.Data.Pow(em1); using var t = p * b.Data; using var u = t * g; ga = SumTo(u, sa);
                    }
                    if (b.RequiresGrad) { using var l = a.Data.Log(); using var t = l * y; using var u = t * g; gb = SumTo(u, sb); }
                    break;
                case BinaryOp.Max:
                case BinaryOp.Min:
                    {
                        // Ties split the gradient evenly, as torch.maximum does.
                        using var win = op == BinaryOp.Max ? a.Data.Gt(b.Data) : a.Data.Lt(b.Data);
                        using var tie = a.Data.Eq(b.Data);
                        using var half = tie * 0.5;
                        using var wa = win + half;
                        if (a.RequiresGrad) { using var t = g * wa; ga = SumTo(t, sa); }
                        if (b.RequiresGrad) { using var wb = 1.0 - wa; using var t = g * wb; gb = SumTo(t, sb); }
                        break;
                    }
            }
            return [ga, gb];
        });
    }

    /// <summary>A constant with this variable's dtype and device.</summary>
    public Variable Const(double v) => new(Tensor.Scalar(v, DType, Device));

    /// <summary>Broadcasting a + b; gradients are summed back to each operand's shape.</summary>
    public static Variable operator +(Variable a, Variable b) => Binary(BinaryOp.Add, a, b);
    /// <summary>Broadcasting a − b.</summary>
    public static Variable operator -(Variable a, Variable b) => Binary(BinaryOp.Sub, a, b);
    /// <summary>Broadcasting elementwise a · b (see <see cref="Matmul"/> for the matrix product).</summary>
    public static Variable operator *(Variable a, Variable b) => Binary(BinaryOp.Mul, a, b);
    /// <summary>Broadcasting a / b.</summary>
    public static Variable operator /(Variable a, Variable b) => Binary(BinaryOp.Div, a, b);
    /// <summary>Adds a constant scalar (no gradient to it).</summary>
    public static Variable operator +(Variable a, double b) => a + a.Const(b);
    /// <summary>Subtracts a constant scalar.</summary>
    public static Variable operator -(Variable a, double b) => a - a.Const(b);
    /// <summary>Multiplies by a constant scalar.</summary>
    public static Variable operator *(Variable a, double b) => a * a.Const(b);
    /// <summary>Divides by a constant scalar.</summary>
    public static Variable operator /(Variable a, double b) => a / a.Const(b);
    /// <summary>Constant scalar plus a variable.</summary>
    public static Variable operator +(double a, Variable b) => b.Const(a) + b;
    /// <summary>Constant scalar minus a variable.</summary>
    public static Variable operator -(double a, Variable b) => b.Const(a) - b;
    /// <summary>Constant scalar times a variable.</summary>
    public static Variable operator *(double a, Variable b) => b.Const(a) * b;
    /// <summary>Constant scalar divided by a variable, elementwise.</summary>
    public static Variable operator /(double a, Variable b) => b.Const(a) / b;
    /// <summary>Negation, same as <see cref="Neg"/>.</summary>
    public static Variable operator -(Variable a) => a.Neg();

    /// <summary>Broadcasting xᵉ, differentiable in both; the exponent's gradient uses log x (NaN for x &lt; 0).</summary>
    public Variable Pow(Variable e) => Binary(BinaryOp.Pow, this, e);
    /// <summary>xᵉ with a constant exponent.</summary>
    public Variable Pow(double e) => Binary(BinaryOp.Pow, this, Const(e));
    /// <summary>Broadcasting elementwise maximum; ties split the gradient evenly.</summary>
    public static Variable Maximum(Variable a, Variable b) => Binary(BinaryOp.Max, a, b);
    /// <summary>Broadcasting elementwise minimum; ties split the gradient evenly.</summary>
    public static Variable Minimum(Variable a, Variable b) => Binary(BinaryOp.Min, a, b);

    /// <summary><c>cond ≠ 0 ? a : b</c>; cond gets no gradient.</summary>
    public static Variable Where(Tensor cond, Variable a, Variable b)
    {
        var y = Tensor.Where(cond, a.Data, b.Data);
        return Graph.Record("where", y, [a, b], g =>
        {
            using var z = Tensor.Zeros([], g.DType, g.Device);
            Tensor? ga = null, gb = null;
            if (a.RequiresGrad) { using var t = Tensor.Where(cond, g, z); ga = SumTo(t, a.Shape); }
            if (b.RequiresGrad) { using var t = Tensor.Where(cond, z, g); gb = SumTo(t, b.Shape); }
            return [ga, gb];
        });
    }
}
