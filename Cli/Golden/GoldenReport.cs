using System.Globalization;

namespace LightNet.Cli.Golden;

/// <summary>The outcome of running one golden file: per-tensor comparisons and the verdict.</summary>
public sealed record GoldenReport(string File, string Kind, DType DType, Device Device, IReadOnlyList<TensorComparison> Tensors)
{
    /// <summary>True when at least one tensor was compared and every one is within tolerance.</summary>
    public bool Passed => Tensors.Count > 0 && Tensors.All(t => t.Passed);

    /// <summary>The worst relative error.</summary>
    public double WorstRelErr => Tensors.Count == 0 ? double.NaN : Tensors.Max(t => t.RelErr);

    /// <summary>Prints the per-tensor table and the PASS/FAIL line.</summary>
    public void Write(TextWriter w)
    {
        var ci = CultureInfo.InvariantCulture;
        w.WriteLine($"golden {System.IO.Path.GetFileName(File)}  kind {Kind}  dtype {DType.Name()}  device {Device}");
        int nw = Math.Max(6, Tensors.Count == 0 ? 0 : Tensors.Max(t => t.Name.Length));
        int sw = Math.Max(5, Tensors.Count == 0 ? 0 : Tensors.Max(t => t.Shape.ToString().Length));
        w.WriteLine($"  {"tensor".PadRight(nw)}  {"shape".PadRight(sw)}  {"max|ref|",10}  {"max|diff|",10}  {"rel err",10}  {"tol",8}  result");
        foreach (var t in Tensors)
        {
            var line = string.Format(ci, "  {0}  {1}  {2,10:0.000e+00}  {3,10:0.000e+00}  {4,10:0.000e+00}  {5,8:0e+00}  {6}",
                t.Name.PadRight(nw), t.Shape.ToString().PadRight(sw), t.MaxAbsRef, t.MaxAbsDiff, t.RelErr, t.Tolerance, t.Passed ? "ok" : "FAIL");
            w.WriteLine(t.Note == null ? line : $"{line}  ({t.Note})");
        }
        int ok = Tensors.Count(t => t.Passed);
        w.WriteLine(Passed
            ? string.Format(ci, "PASS ({0}/{1} tensors within tolerance, worst {2:0.000e+00})", ok, Tensors.Count, WorstRelErr)
            : $"FAIL ({ok}/{Tensors.Count} tensors within tolerance)");
    }
}
