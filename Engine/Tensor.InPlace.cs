namespace LightNet;

public sealed partial class Tensor
{
    /// <summary>In place: <c>this ∘= other</c> (other broadcast to this shape). Returns this.</summary>
    public Tensor BinaryInPlace(BinaryOp op, Tensor other)
    {
        string name = op.ToString().ToLowerInvariant() + "_";
        SameDevice(name, this, other, "self", "other");
        SameDType(name, this, other, "self", "other");
        RequireFloating(name, "self");
        var shape = Shape.Broadcast(name, Shape, other.Shape);
        if (!shape.AsSpan().SequenceEqual(_shape)) throw new ShapeException($"{name}: 'other' {other.Shape} does not broadcast to self {Shape}");
        using var e = other.Expand(_shape);
        Backend.Binary(op, this, e, this);
        return this;
    }

    /// <summary>In place: <c>this += other</c>.</summary>
    public Tensor Add_(Tensor other) => BinaryInPlace(BinaryOp.Add, other);

    /// <summary>In place: <c>this *= s</c>.</summary>
    public Tensor Mul_(double s)
    {
        using var t = Scalar(s, DType, Device);
        return BinaryInPlace(BinaryOp.Mul, t);
    }

    /// <summary>In place: every element set to <paramref name="value"/> (contiguous tensors only).</summary>
    public Tensor Fill_(double value)
    {
        if (!IsContiguous) throw new ShapeException($"fill_: tensor {Shape} is not contiguous");
        Backend.Fill(this, value);
        return this;
    }

    /// <summary>A view with the order of elements along an axis reversed (negative stride).</summary>
    public Tensor Flip(int axis)
    {
        int a = NormAxis("flip", axis);
        var str = (long[])_strides.Clone();
        long off = Offset + (_shape[a] - 1) * _strides[a];
        if (_shape[a] == 0) off = Offset;
        str[a] = -str[a];
        return MakeView((int[])_shape.Clone(), str, off);
    }
}
