namespace LightNet;

/// <summary>Immutable list of dimension sizes, with row-major stride helpers.</summary>
[System.Runtime.CompilerServices.CollectionBuilder(typeof(Shape), nameof(Create))]
public readonly struct Shape : IEquatable<Shape>
{
    /// <summary>Builds a shape from a collection expression such as <c>[2, 3]</c>.</summary>
    public static Shape Create(ReadOnlySpan<int> dims) => new(dims.ToArray());

    /// <summary>Enumerates the sizes.</summary>
    public ReadOnlySpan<int>.Enumerator GetEnumerator() => Dims.GetEnumerator();

    private readonly int[]? _dims;

    /// <summary>Creates a shape from sizes (copied).</summary>
    public Shape(params int[] dims)
    {
        foreach (var d in dims)
            if (d < 0) throw new ArgumentException($"Shape: negative dimension in {Format(dims)}");
        _dims = (int[])dims.Clone();
    }

    internal static Shape Wrap(int[] dims) => new(dims, 0);
    private Shape(int[] dims, int _) { _dims = dims; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims?.Length ?? 0;

    /// <summary>Size of dimension i (negative i counts from the end).</summary>
    public int this[int i] => Dims[i < 0 ? i + Rank : i];

    /// <summary>Sizes as a read-only span.</summary>
    public ReadOnlySpan<int> Dims => _dims ?? [];

    /// <summary>Total number of elements.</summary>
    public long Numel
    {
        get
        {
            long n = 1;
            foreach (var d in Dims) n *= d;
            return n;
        }
    }

    /// <summary>A copy of the sizes.</summary>
    public int[] ToArray() => Dims.ToArray();

    /// <summary>Row-major (C-order) strides in elements.</summary>
    public long[] ContiguousStrides()
    {
        var s = new long[Rank];
        long acc = 1;
        for (int i = Rank - 1; i >= 0; i--) { s[i] = acc; acc *= _dims![i]; }
        return s;
    }

    /// <inheritdoc/>
    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);
    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims) h.Add(d);
        return h.ToHashCode();
    }
    /// <summary>Equality of sizes.</summary>
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    /// <summary>Inequality of sizes.</summary>
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);
    /// <summary>Shape from an int array.</summary>
    public static implicit operator Shape(int[] dims) => new(dims);

    /// <inheritdoc/>
    public override string ToString() => Format(Dims);

    /// <summary>Formats sizes as "[2, 3, 4]".</summary>
    public static string Format(ReadOnlySpan<int> dims) => "[" + string.Join(", ", dims.ToArray()) + "]";

    /// <summary>NumPy broadcast of two shapes, or an exception naming the op.</summary>
    public static int[] Broadcast(string op, Shape a, Shape b)
    {
        int r = Math.Max(a.Rank, b.Rank);
        var o = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Rank) >= 0 ? a.Dims[i - (r - a.Rank)] : 1;
            int db = i - (r - b.Rank) >= 0 ? b.Dims[i - (r - b.Rank)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ShapeException($"{op}: shapes {a} and {b} cannot be broadcast together (dimension {i}: {da} vs {db})");
            o[i] = da == 1 ? db : da;
        }
        return o;
    }
}
