namespace LightNet;

public sealed partial class Tensor
{
    /// <summary>Applies an elementwise function.</summary>
    public Tensor Apply(UnaryOp op)
    {
        RequireFloating(op.ToString().ToLowerInvariant());
        using var c = Contiguous();
        var y = EmptyLike();
        Backend.Unary(op, c, y);
        return y;
    }

    /// <summary><c>dy · f'(x)</c> for the function that produced <paramref name="y"/> from this tensor.</summary>
    public Tensor ApplyBackward(UnaryOp op, Tensor y, Tensor dy)
    {
        string name = op.ToString().ToLowerInvariant() + "_backward";
        if (dy.Shape != Shape) throw new ShapeException($"{name}: gradient 'dy' has shape {dy.Shape} but x has {Shape}");
        using var x = Contiguous();
        using var yc = y.Contiguous();
        using var g = dy.Contiguous();
        var dx = EmptyLike();
        Backend.UnaryBackward(op, x, yc, g, dx);
        return dx;
    }

    /// <summary>−x elementwise (float32/float64 only, like every unary op).</summary>
    public Tensor Neg() => Apply(UnaryOp.Neg);
    /// <summary>eˣ elementwise.</summary>
    public Tensor Exp() => Apply(UnaryOp.Exp);
    /// <summary>Natural logarithm elementwise (NaN below 0, −∞ at 0).</summary>
    public Tensor Log() => Apply(UnaryOp.Log);
    /// <summary>√x elementwise.</summary>
    public Tensor Sqrt() => Apply(UnaryOp.Sqrt);
    /// <summary>1/√x elementwise.</summary>
    public Tensor Rsqrt() => Apply(UnaryOp.Rsqrt);
    /// <summary>Hyperbolic tangent elementwise.</summary>
    public Tensor Tanh() => Apply(UnaryOp.Tanh);
    /// <summary>Logistic σ(x) = 1/(1 + e⁻ˣ) elementwise.</summary>
    public Tensor Sigmoid() => Apply(UnaryOp.Sigmoid);
    /// <summary>x·σ(x).</summary>
    public Tensor Silu() => Apply(UnaryOp.Silu);
    /// <summary>Exact GELU, x·Φ(x).</summary>
    public Tensor Gelu() => Apply(UnaryOp.Gelu);
    /// <summary>max(x, 0) elementwise.</summary>
    public Tensor Relu() => Apply(UnaryOp.Relu);
    /// <summary>|x| elementwise.</summary>
    public Tensor Abs() => Apply(UnaryOp.Abs);
    /// <summary>x² elementwise.</summary>
    public Tensor Square() => Apply(UnaryOp.Square);
    /// <summary>1/x elementwise.</summary>
    public Tensor Reciprocal() => Apply(UnaryOp.Reciprocal);
    /// <summary>Sine elementwise.</summary>
    public Tensor Sin() => Apply(UnaryOp.Sin);
    /// <summary>Cosine elementwise.</summary>
    public Tensor Cos() => Apply(UnaryOp.Cos);

    /// <summary>Elementwise binary op with NumPy broadcasting; both operands must share dtype and device.</summary>
    public static Tensor Binary(BinaryOp op, Tensor a, Tensor b)
    {
        string name = op.ToString().ToLowerInvariant();
        SameDevice(name, a, b);
        SameDType(name, a, b);
        a.RequireFloating(name, "a");
        var shape = Shape.Broadcast(name, a.Shape, b.Shape);
        using var ea = a.Expand(shape);
        using var eb = b.Expand(shape);
        var y = Empty(shape, a.DType, a.Device);
        a.Backend.Binary(op, ea, eb, y);
        return y;
    }

    /// <summary>Binary op with a scalar right operand.</summary>
    public Tensor Binary(BinaryOp op, double s)
    {
        using var t = Scalar(s, DType, Device);
        return Binary(op, this, t);
    }

    /// <summary>Binary op with a scalar left operand.</summary>
    public static Tensor Binary(BinaryOp op, double s, Tensor b)
    {
        using var t = Scalar(s, b.DType, b.Device);
        return Binary(op, t, b);
    }

    /// <summary>Broadcasting a + b (same dtype and device).</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);
    /// <summary>Broadcasting a − b (same dtype and device).</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Binary(BinaryOp.Sub, a, b);
    /// <summary>Broadcasting elementwise a · b (not a matrix product).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Binary(BinaryOp.Mul, a, b);
    /// <summary>Broadcasting a / b (same dtype and device).</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Binary(BinaryOp.Div, a, b);
    /// <summary>Adds a scalar, rounded to a's dtype.</summary>
    public static Tensor operator +(Tensor a, double b) => a.Binary(BinaryOp.Add, b);
    /// <summary>Subtracts a scalar, rounded to a's dtype.</summary>
    public static Tensor operator -(Tensor a, double b) => a.Binary(BinaryOp.Sub, b);
    /// <summary>Multiplies by a scalar, rounded to a's dtype.</summary>
    public static Tensor operator *(Tensor a, double b) => a.Binary(BinaryOp.Mul, b);
    /// <summary>Divides by a scalar, rounded to a's dtype.</summary>
    public static Tensor operator /(Tensor a, double b) => a.Binary(BinaryOp.Div, b);
    /// <summary>Scalar plus tensor, the scalar rounded to b's dtype.</summary>
    public static Tensor operator +(double a, Tensor b) => Binary(BinaryOp.Add, a, b);
    /// <summary>Scalar minus tensor, the scalar rounded to b's dtype.</summary>
    public static Tensor operator -(double a, Tensor b) => Binary(BinaryOp.Sub, a, b);
    /// <summary>Scalar times tensor, the scalar rounded to b's dtype.</summary>
    public static Tensor operator *(double a, Tensor b) => Binary(BinaryOp.Mul, a, b);
    /// <summary>Scalar divided by tensor elementwise, the scalar rounded to b's dtype.</summary>
    public static Tensor operator /(double a, Tensor b) => Binary(BinaryOp.Div, a, b);
    /// <summary>Negation, same as <see cref="Neg"/>.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();

    /// <summary>Elementwise power xᵉ with broadcasting.</summary>
    public Tensor Pow(Tensor e) => Binary(BinaryOp.Pow, this, e);
    /// <summary>Elementwise power xᵉ with a scalar exponent.</summary>
    public Tensor Pow(double e) => Binary(BinaryOp.Pow, e);
    /// <summary>Broadcasting elementwise maximum (NaN propagates).</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => Binary(BinaryOp.Max, a, b);
    /// <summary>Broadcasting elementwise minimum (NaN propagates).</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => Binary(BinaryOp.Min, a, b);
    /// <summary>1 where this = b, else 0, in this tensor's dtype (broadcasting).</summary>
    public Tensor Eq(Tensor b) => Binary(BinaryOp.Eq, this, b);
    /// <summary>1 where this ≠ b, else 0, in this tensor's dtype (broadcasting).</summary>
    public Tensor Ne(Tensor b) => Binary(BinaryOp.Ne, this, b);
    /// <summary>1 where this &lt; b, else 0, in this tensor's dtype (broadcasting).</summary>
    public Tensor Lt(Tensor b) => Binary(BinaryOp.Lt, this, b);
    /// <summary>1 where this ≤ b, else 0, in this tensor's dtype (broadcasting).</summary>
    public Tensor Le(Tensor b) => Binary(BinaryOp.Le, this, b);
    /// <summary>1 where this &gt; b, else 0, in this tensor's dtype (broadcasting).</summary>
    public Tensor Gt(Tensor b) => Binary(BinaryOp.Gt, this, b);
    /// <summary>1 where this ≥ b, else 0, in this tensor's dtype (broadcasting).</summary>
    public Tensor Ge(Tensor b) => Binary(BinaryOp.Ge, this, b);
    /// <summary>1 where this &gt; the scalar, else 0, in this tensor's dtype.</summary>
    public Tensor Gt(double b) => Binary(BinaryOp.Gt, b);
    /// <summary>1 where this &lt; the scalar, else 0, in this tensor's dtype.</summary>
    public Tensor Lt(double b) => Binary(BinaryOp.Lt, b);

    /// <summary><c>cond ≠ 0 ? a : b</c> with broadcasting of all three.</summary>
    public static Tensor Where(Tensor cond, Tensor a, Tensor b)
    {
        SameDevice("where", a, b);
        SameDevice("where", a, cond, "a", "cond");
        SameDType("where", a, b);
        SameDType("where", a, cond, "a", "cond");
        var shape = Shape.Broadcast("where", Shape.Wrap(Shape.Broadcast("where", cond.Shape, a.Shape)), b.Shape);
        using var ec = cond.Expand(shape);
        using var ea = a.Expand(shape);
        using var eb = b.Expand(shape);
        var y = Empty(shape, a.DType, a.Device);
        a.Backend.Where(ec, ea, eb, y);
        return y;
    }
}
