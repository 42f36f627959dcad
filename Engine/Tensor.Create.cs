namespace LightNet;

public sealed partial class Tensor
{
    /// <summary>Tensor of zeros.</summary>
    public static Tensor Zeros(Shape shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 0, dtype, device);

    /// <summary>Tensor of ones.</summary>
    public static Tensor Ones(Shape shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 1, dtype, device);

    /// <summary>Tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(Shape shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        var t = Empty(shape, dtype, device);
        t.Backend.Fill(t, value);
        return t;
    }

    /// <summary>A 0-dimensional tensor holding one value.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) => Full(new Shape(), value, dtype, device);

    /// <summary>Values start, start+step, … below end (1-D).</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32, Device? device = null)
    {
        if (step == 0 || double.IsNaN(start) || double.IsNaN(end)) throw new ShapeException($"arange: invalid range start={start} end={end} step={step}");
        int n = Math.Max(0, (int)Math.Ceiling((end - start) / step));
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = start + i * step;
        using var h = FromArray(v, [n]);
        return h.To(dtype).MoveTo(device);
    }

    /// <summary>Values 0 … n−1 as int64 (1-D).</summary>
    public static Tensor Arange(int n, DType dtype = DType.Int64, Device? device = null) => Arange(0, n, 1, dtype, device);

    private Tensor MoveTo(Device? device)
    {
        if (device is not Device d || d == Device) return this;
        var m = To(d);
        Dispose();
        return m;
    }

    /// <summary>Copies a host array into a new tensor of the given shape (default 1-D) and device.</summary>
    public static unsafe Tensor FromArray<T>(T[] data, Shape? shape = null, Device? device = null) where T : unmanaged
    {
        var s = shape ?? new Shape(data.Length);
        if (s.Numel != data.Length) throw new ShapeException($"from_array: {data.Length} values do not fill shape {s} ({s.Numel} elements)");
        var host = Empty(s, DTypeInfo.Of<T>());
        data.AsSpan().CopyTo(new Span<T>(host.Ptr<T>(), data.Length));
        return host.MoveTo(device);
    }

    /// <summary>Standard-normal values (times std, plus mean) from a counter-based generator.</summary>
    public static Tensor RandN(Shape shape, Generator? gen = null, DType dtype = DType.Float32, Device? device = null, double mean = 0, double std = 1)
    {
        var g = gen ?? Generator.Default;
        var t = Empty(shape, dtype, device);
        t.Backend.Random(t, g.Seed, g.Advance(t.Numel), normal: true);
        if (mean == 0 && std == 1) return t;
        using (t) return t * std + mean;
    }

    /// <summary>Uniform values in [low, high) from a counter-based generator.</summary>
    public static Tensor Rand(Shape shape, Generator? gen = null, DType dtype = DType.Float32, Device? device = null, double low = 0, double high = 1)
    {
        var g = gen ?? Generator.Default;
        var t = Empty(shape, dtype, device);
        t.Backend.Random(t, g.Seed, g.Advance(t.Numel), normal: false);
        if (low == 0 && high == 1) return t;
        using (t) return t * (high - low) + low;
    }

    /// <summary>Copies the values to a host array in row-major order.</summary>
    public unsafe T[] ToArray<T>() where T : unmanaged
    {
        CheckElementType<T>("to_array");
        using var c = Device.Kind == DeviceKind.Cpu ? Contiguous() : To(Device.Cpu);
        var r = new T[Numel];
        new Span<T>(c.Ptr<T>(), r.Length).CopyTo(r);
        return r;
    }

    /// <summary>The single value of a one-element tensor, as double.</summary>
    public double Item()
    {
        if (Numel != 1) throw new ShapeException($"item: tensor of shape {Shape} has {Numel} elements, not 1");
        using var d = To(DType.Float64);
        return d.ToArray<double>()[0];
    }

    /// <summary>All values converted to float64 (host array).</summary>
    public double[] ToDoubleArray()
    {
        using var d = To(DType.Float64);
        return d.ToArray<double>();
    }
}
