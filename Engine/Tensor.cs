using System.Runtime.CompilerServices;

namespace LightNet;

/// <summary>
/// An n-dimensional array: a view <c>(storage, shape, strides, offset, dtype)</c> over reference-counted
/// storage on a device. View operations (reshape, permute, narrow, expand…) share storage; compute
/// operations allocate new tensors. Dispose tensors (or use a <see cref="DisposalScope"/>) to free memory
/// deterministically.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private readonly int[] _shape;
    private readonly long[] _strides;
    private Storage? _storage;

    internal Tensor(Storage storage, int[] shape, long[] strides, long offset, DType dtype, bool addRef)
    {
        if (addRef) storage.AddRef();
        _storage = storage;
        _shape = shape;
        _strides = strides;
        Offset = offset;
        DType = dtype;
        MemoryStats.TensorCreated();
        DisposalScope.Register(this);
    }

    /// <summary>The storage this view reads (throws once disposed).</summary>
    public Storage Storage => _storage ?? throw new ObjectDisposedException(nameof(Tensor), "tensor was disposed");
    /// <summary>Sizes.</summary>
    public Shape Shape => Shape.Wrap(_shape);
    /// <summary>Strides in elements.</summary>
    public ReadOnlySpan<long> Strides => _strides;
    /// <summary>Offset of element [0,…,0] in elements from the start of storage.</summary>
    public long Offset { get; }
    /// <summary>Element type.</summary>
    public DType DType { get; }
    /// <summary>Device of the storage.</summary>
    public Device Device => Storage.Device;
    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;
    /// <summary>Number of elements.</summary>
    public long Numel => Shape.Numel;
    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _storage == null;
    /// <summary>Size of dimension <paramref name="axis"/> (negative counts from the end).</summary>
    public int Size(int axis) => _shape[NormAxis("size", axis)];
    internal int[] ShapeArray => _shape;
    internal long[] StrideArray => _strides;

    /// <summary>True when elements are laid out densely in row-major order.</summary>
    public bool IsContiguous
    {
        get
        {
            long acc = 1;
            for (int i = Rank - 1; i >= 0; i--)
            {
                if (_shape[i] == 1) continue;
                if (_strides[i] != acc) return false;
                acc *= _shape[i];
            }
            return true;
        }
    }

    /// <summary>Releases this view's reference to its storage.</summary>
    public void Dispose()
    {
        var s = Interlocked.Exchange(ref _storage, null);
        if (s == null) return;
        s.Release();
        MemoryStats.TensorDisposed();
    }

    /// <summary>Backend for this tensor's device.</summary>
    internal IBackend Backend => Backends.For(Device);

    /// <summary>Address of element [0,…,0] (CPU: host pointer).</summary>
    internal unsafe T* Ptr<T>() where T : unmanaged => (T*)((byte*)Storage.Pointer + Offset * DType.Size());

    /// <summary>Host span over the elements; requires a contiguous CPU tensor.</summary>
    public unsafe Span<T> AsSpan<T>() where T : unmanaged
    {
        if (Device.Kind != DeviceKind.Cpu) throw new InvalidOperationException($"AsSpan: tensor is on {Device}, not cpu");
        if (!IsContiguous) throw new InvalidOperationException($"AsSpan: tensor of shape {Shape} with strides [{string.Join(", ", _strides)}] is not contiguous");
        CheckElementType<T>("AsSpan");
        return new Span<T>(Ptr<T>(), checked((int)Numel));
    }

    internal void CheckElementType<T>(string op) where T : unmanaged
    {
        if (DTypeInfo.Of<T>() != DType) throw new ShapeException($"{op}: tensor has dtype {DType.Name()}, requested {typeof(T).Name}");
    }

    /// <summary>Normalises a possibly negative axis, naming the op on failure.</summary>
    internal int NormAxis(string op, int axis, int? rank = null)
    {
        int r = rank ?? Rank;
        int a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r) throw new ShapeException($"{op}: axis {axis} is out of range for a tensor of shape {Shape} (rank {Rank})");
        return a;
    }

    /// <summary>A new view of the same storage.</summary>
    internal Tensor MakeView(int[] shape, long[] strides, long offset) => new(Storage, shape, strides, offset, DType, addRef: true);

    /// <summary>Allocates a tensor whose contents are undefined (use <see cref="Zeros"/> for zeros).</summary>
    public static Tensor Empty(Shape shape, DType dtype = DType.Float32, Device? device = null)
    {
        var dev = device ?? Device.Cpu;
        var dims = shape.ToArray();
        var st = Backends.For(dev).Allocate(Math.Max(1, shape.Numel) * dtype.Size());
        return new Tensor(st, dims, Shape.Wrap(dims).ContiguousStrides(), 0, dtype, addRef: false);
    }

    /// <summary>Allocates a tensor like this one (same shape unless given, dtype, device).</summary>
    public Tensor EmptyLike(Shape? shape = null, DType? dtype = null) => Empty(shape ?? Shape, dtype ?? DType, Device);

    /// <inheritdoc/>
    public override string ToString()
    {
        if (IsDisposed) return "Tensor(disposed)";
        var head = $"Tensor({Shape}, {DType.Name()}, {Device}";
        if (Numel == 0 || !DType.IsFloating() && DType is not (DType.Int32 or DType.Int64)) return head + ")";
        using var c = To(DType.Float64).To(Device.Cpu);
        var vals = c.ToArray<double>();
        var n = Math.Min(vals.Length, 8);
        var s = string.Join(", ", vals.Take(n).Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)));
        return head + $", [{s}{(vals.Length > n ? ", …" : "")}])";
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void SameDevice(string op, Tensor a, Tensor b, string an = "a", string bn = "b")
    {
        if (a.Device != b.Device) throw new ShapeException($"{op}: argument '{bn}' is on {b.Device} but '{an}' is on {a.Device}");
    }

    internal static void SameDType(string op, Tensor a, Tensor b, string an = "a", string bn = "b")
    {
        if (a.DType != b.DType) throw new ShapeException($"{op}: argument '{bn}' has dtype {b.DType.Name()} {b.Shape} but '{an}' has dtype {a.DType.Name()} {a.Shape}");
    }

    internal void RequireFloating(string op, string arg = "x")
    {
        if (!DType.IsFloating())
            throw new ShapeException($"{op}: argument '{arg}' must be float32, float64 or bfloat16, got {DType.Name()} of shape {Shape}");
    }
}
