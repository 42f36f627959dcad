namespace LightNet.Cli.Golden;

/// <summary>
/// One compared tensor: the golden metric <c>max|ours − ref| / max|ref|</c> (the absolute difference when
/// the reference is all zero; infinite when shapes differ or ours has a NaN/∞ the reference lacks) against its tolerance.
/// </summary>
public sealed record TensorComparison(string Name, Shape Shape, double MaxAbsRef, double MaxAbsDiff, double RelErr, double Tolerance, string? Note = null)
{
    /// <summary>A stored reference tensor the engine does not produce: listed in the report, not counted for or against the file.</summary>
    public bool Skipped { get; init; }

    /// <summary>True when the error is within tolerance (or the row is <see cref="Skipped"/>).</summary>
    public bool Passed => Skipped || RelErr <= Tolerance;

    /// <summary>Compares <paramref name="ours"/> with <paramref name="reference"/>.</summary>
    public static TensorComparison Of(string name, Tensor ours, Tensor reference, double tolerance)
    {
        if (ours.Shape != reference.Shape)
            return new(name, reference.Shape, double.NaN, double.NaN, double.PositiveInfinity, tolerance, $"shape {ours.Shape} instead of {reference.Shape}");
        var a = ours.ToDoubleArray();
        var b = reference.ToDoubleArray();
        double diff = 0, max = 0;
        string? note = null;
        for (int i = 0; i < a.Length; i++)
        {
            if (!double.IsFinite(a[i]) || !double.IsFinite(b[i]))
            {
                if (a[i].Equals(b[i])) continue;
                note ??= $"non-finite value at flat index {i}: ours {a[i]}, reference {b[i]}";
                diff = double.PositiveInfinity;
                continue;
            }
            diff = Math.Max(diff, Math.Abs(a[i] - b[i]));
            max = Math.Max(max, Math.Abs(b[i]));
        }
        return new(name, reference.Shape, max, diff, max == 0 ? diff : diff / max, tolerance, note);
    }

    /// <summary>A listed, non-failing entry for a stored reference tensor (not an input) that the engine cannot produce.</summary>
    public static TensorComparison NotComputed(string name, Shape shape, double tolerance) =>
        new(name, shape, double.NaN, double.NaN, double.NaN, tolerance, "not computed: the engine does not produce this tensor") { Skipped = true };

    /// <summary>A failing entry for a reference tensor that the handler did not compute.</summary>
    public static TensorComparison Missing(string name, Shape shape, double tolerance) =>
        new(name, shape, double.NaN, double.NaN, double.PositiveInfinity, tolerance, "not computed");
}
