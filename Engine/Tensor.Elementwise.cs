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

    public Tensor Neg() => Apply(UnaryOp.Neg);
    public Tensor Exp() => Apply(UnaryOp.Exp);
    public Tensor Log() => Apply(UnaryOp.Log);
    public Tensor Sqrt() => Apply(UnaryOp.Sqrt);
    public Tensor Rsqrt() => Apply(UnaryOp.Rsqrt);
    public Tensor Tanh() => Apply(UnaryOp.Tanh);
    public Tensor Sigmoid() => Apply(UnaryOp.Sigmoid);
    /// <summary>x·σ(x).</summary>
    public Tensor Silu() => Apply(UnaryOp.Silu);
    /// <summary>Exact GELU, x·Φ(x).</summary>
    public Tensor Gelu() => Apply(UnaryOp.Gelu);
    public Tensor Relu() => Apply(UnaryOp.Relu);
    public Tensor Abs() => Apply(UnaryOp.Abs);
    public Tensor Square() => Apply(UnaryOp.Square);
    public Tensor Reciprocal() => Apply(UnaryOp.Reciprocal);
    public Tensor Sin() => Apply(UnaryOp.Sin);
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

    public static Tensor operator +(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Binary(BinaryOp.Sub, a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Binary(BinaryOp.Mul, a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Binary(BinaryOp.Div, a, b);
    public static Tensor operator +(Tensor a, double b) => a.Binary(BinaryOp.Add, b);
    public static Tensor operator -(Tensor a, double b) => a.Binary(BinaryOp.Sub, b);
    public static Tensor operator *(Tensor a, double b) => a.Binary(BinaryOp.Mul, b);
    public static Tensor operator /(Tensor a, double b) => a.Binary(BinaryOp.Div, b);
    public static Tensor operator +(double a, Tensor b) => Binary(BinaryOp.Add, a, b);
    public static Tensor operator -(double a, Tensor b) => Binary(BinaryOp.Sub, a, b);
    public static Tensor operator *(double a, Tensor b) => Binary(BinaryOp.Mul, a, b);
    public static Tensor operator /(double a, Tensor b) => Binary(BinaryOp.Div, a, b);
    public static Tensor operator -(Tensor a) => a.Neg();

    public Tensor Pow(Tensor e) => Binary(BinaryOp.Pow, this, e);
    public Tensor Pow(double e) => Binary(BinaryOp.Pow, e);
    public static Tensor Maximum(Tensor a, Tensor b) => Binary(BinaryOp.Max, a, b);
    public static Tensor Minimum(Tensor a, Tensor b) => Binary(BinaryOp.Min, a, b);
    public Tensor Eq(Tensor b) => Binary(BinaryOp.Eq, this, b);
    public Tensor Ne(Tensor b) => Binary(BinaryOp.Ne, this, b);
    public Tensor Lt(Tensor b) => Binary(BinaryOp.Lt, this, b);
    public Tensor Le(Tensor b) => Binary(BinaryOp.Le, this, b);
    public Tensor Gt(Tensor b) => Binary(BinaryOp.Gt, this, b);
    public Tensor Ge(Tensor b) => Binary(BinaryOp.Ge, this, b);
    public Tensor Gt(double b) => Binary(BinaryOp.Gt, b);
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
