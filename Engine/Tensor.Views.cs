namespace LightNet;

public sealed partial class Tensor
{
    /// <summary>Same data with a new shape (one size may be −1). Views when possible, copies otherwise.</summary>
    public Tensor Reshape(params int[] shape)
    {
        var dims = InferShape("reshape", shape);
        if (IsContiguous) return MakeView(dims, Shape.Wrap(dims).ContiguousStrides(), Offset);
        using var c = Contiguous();
        return c.MakeView(dims, Shape.Wrap(dims).ContiguousStrides(), c.Offset);
    }

    /// <summary>Same data with a new shape; throws unless this tensor is contiguous.</summary>
    public Tensor View(params int[] shape)
    {
        var dims = InferShape("view", shape);
        if (!IsContiguous) throw new ShapeException($"view: tensor of shape {Shape} is not contiguous; use Reshape or Contiguous first");
        return MakeView(dims, Shape.Wrap(dims).ContiguousStrides(), Offset);
    }

    private int[] InferShape(string op, int[] shape)
    {
        var dims = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (infer >= 0) throw new ShapeException($"{op}: more than one −1 in target shape {Shape.Format(shape)}");
                infer = i;
            }
            else if (dims[i] < 0) throw new ShapeException($"{op}: negative size in target shape {Shape.Format(shape)}");
            else known *= dims[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0) throw new ShapeException($"{op}: cannot infer −1 in {Shape.Format(shape)} for a tensor of shape {Shape}");
            dims[infer] = (int)(Numel / known);
        }
        else if (known != Numel) throw new ShapeException($"{op}: target shape {Shape.Format(shape)} has {known} elements but the tensor {Shape} has {Numel}");
        return dims;
    }

    /// <summary>Reorders axes: result axis i is input axis <paramref name="axes"/>[i].</summary>
    public Tensor Permute(params int[] axes)
    {
        if (axes.Length != Rank) throw new ShapeException($"permute: {axes.Length} axes given for a tensor of shape {Shape}");
        var seen = new bool[Rank];
        var dims = new int[Rank];
        var str = new long[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int a = NormAxis("permute", axes[i]);
            if (seen[a]) throw new ShapeException($"permute: axis {axes[i]} repeated in [{string.Join(", ", axes)}]");
            seen[a] = true;
            dims[i] = _shape[a];
            str[i] = _strides[a];
        }
        return MakeView(dims, str, Offset);
    }

    /// <summary>Swaps two axes.</summary>
    public Tensor Transpose(int axis0 = -2, int axis1 = -1)
    {
        int a = NormAxis("transpose", axis0), b = NormAxis("transpose", axis1);
        var p = Enumerable.Range(0, Rank).ToArray();
        (p[a], p[b]) = (p[b], p[a]);
        return Permute(p);
    }

    /// <summary>Elements <paramref name="start"/> … start+length−1 along an axis (a view).</summary>
    public Tensor Narrow(int axis, int start, int length)
    {
        int a = NormAxis("narrow", axis);
        if (start < 0 || length < 0 || start + length > _shape[a])
            throw new ShapeException($"narrow: range [{start}, {start + length}) is outside axis {axis} of size {_shape[a]} (shape {Shape})");
        var dims = (int[])_shape.Clone();
        dims[a] = length;
        return MakeView(dims, (long[])_strides.Clone(), Offset + start * _strides[a]);
    }

    /// <summary>Python-style slice <c>[start:end:step]</c> along an axis (negative indices count from the end).</summary>
    public Tensor Slice(int axis, int start, int end, int step = 1)
    {
        int a = NormAxis("slice", axis);
        int n = _shape[a];
        if (step <= 0) throw new ShapeException($"slice: step must be positive, got {step}");
        if (start < 0) start += n;
        if (end < 0) end += n;
        start = Math.Clamp(start, 0, n);
        end = Math.Clamp(end, start, n);
        var dims = (int[])_shape.Clone();
        var str = (long[])_strides.Clone();
        dims[a] = (end - start + step - 1) / step;
        str[a] *= step;
        return MakeView(dims, str, Offset + start * _strides[a]);
    }

    /// <summary>The sub-tensor at <paramref name="index"/> along an axis, with that axis removed.</summary>
    public Tensor Select(int axis, int index)
    {
        int a = NormAxis("select", axis);
        if (index < 0) index += _shape[a];
        if (index < 0 || index >= _shape[a]) throw new ShapeException($"select: index {index} out of range for axis {axis} of size {_shape[a]} (shape {Shape})");
        var dims = _shape.Where((_, i) => i != a).ToArray();
        var str = _strides.Where((_, i) => i != a).ToArray();
        return MakeView(dims, str, Offset + index * _strides[a]);
    }

    /// <summary>Broadcasts size-1 axes (and new leading axes) to <paramref name="shape"/> without copying; −1 keeps a size.</summary>
    public Tensor Expand(params int[] shape)
    {
        if (shape.Length < Rank) throw new ShapeException($"expand: target {Shape.Format(shape)} has fewer axes than the tensor {Shape}");
        var dims = new int[shape.Length];
        var str = new long[shape.Length];
        int lead = shape.Length - Rank;
        for (int i = 0; i < shape.Length; i++)
        {
            int src = i - lead;
            int have = src >= 0 ? _shape[src] : 1;
            int want = shape[i] == -1 ? have : shape[i];
            if (src >= 0 && have == want) { dims[i] = want; str[i] = _strides[src]; }
            else if (have == 1 && want >= 0) { dims[i] = want; str[i] = 0; }
            else throw new ShapeException($"expand: cannot expand shape {Shape} to {Shape.Format(shape)} (axis {i}: {have} → {want})");
        }
        return MakeView(dims, str, Offset);
    }

    /// <summary>Alias of <see cref="Expand"/> for a <see cref="LightNet.Shape"/>.</summary>
    public Tensor BroadcastTo(Shape shape) => Expand(shape.ToArray());

    /// <summary>Removes an axis of size 1 (or all of them when <paramref name="axis"/> is null).</summary>
    public Tensor Squeeze(int? axis = null)
    {
        if (axis is int ax)
        {
            int a = NormAxis("squeeze", ax);
            if (_shape[a] != 1) throw new ShapeException($"squeeze: axis {ax} has size {_shape[a]}, not 1 (shape {Shape})");
            return MakeView(_shape.Where((_, i) => i != a).ToArray(), _strides.Where((_, i) => i != a).ToArray(), Offset);
        }
        var keep = Enumerable.Range(0, Rank).Where(i => _shape[i] != 1).ToArray();
        return MakeView(keep.Select(i => _shape[i]).ToArray(), keep.Select(i => _strides[i]).ToArray(), Offset);
    }

    /// <summary>Inserts an axis of size 1 at <paramref name="axis"/> (in −(rank+1) … rank).</summary>
    public Tensor Unsqueeze(int axis)
    {
        int a = NormAxis("unsqueeze", axis, Rank + 1);
        var dims = _shape.ToList();
        var str = _strides.ToList();
        dims.Insert(a, 1);
        str.Insert(a, a < Rank ? _strides[a] * _shape[a] : 1);
        return MakeView(dims.ToArray(), str.ToArray(), Offset);
    }

    /// <summary>Flattens axes start…end into one.</summary>
    public Tensor Flatten(int startAxis = 0, int endAxis = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = NormAxis("flatten", startAxis), e = NormAxis("flatten", endAxis);
        var dims = new List<int>();
        for (int i = 0; i < s; i++) dims.Add(_shape[i]);
        int m = 1;
        for (int i = s; i <= e; i++) m *= _shape[i];
        dims.Add(m);
        for (int i = e + 1; i < Rank; i++) dims.Add(_shape[i]);
        return Reshape(dims.ToArray());
    }

    /// <summary>A contiguous tensor with the same values: a new reference to this one when already contiguous.</summary>
    public Tensor Contiguous() => IsContiguous ? MakeView(_shape, _strides, Offset) : Clone();

    /// <summary>A contiguous copy with its own storage.</summary>
    public Tensor Clone()
    {
        var y = EmptyLike();
        Backend.Copy(this, y);
        return y;
    }

    /// <summary>Copies <paramref name="src"/> (broadcast to this shape) into this tensor in place.</summary>
    public void CopyFrom(Tensor src)
    {
        SameDevice("copy_", this, src, "self", "src");
        using var b = src.Rank == Rank && src.Shape == Shape ? src.MakeView(src._shape, src._strides, src.Offset) : src.Expand(_shape);
        Backend.Copy(b, this);
    }

    /// <summary>Converts to another dtype (returns a new reference when already that dtype).</summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType) return MakeView(_shape, _strides, Offset);
        var y = EmptyLike(dtype: dtype);
        Backend.Copy(this, y);
        return y;
    }

    /// <summary>Moves to another device (returns a new reference when already there).</summary>
    public Tensor To(Device device)
    {
        if (device == Device) return MakeView(_shape, _strides, Offset);
        using var c = Contiguous();
        var y = Empty(Shape, DType, device);
        if (device.Kind == DeviceKind.Cpu) c.Backend.CopyToHost(c, y);
        else y.Backend.CopyFromHost(c, y);
        return y;
    }
}
