using System.Globalization;

namespace LightNet.Cli.Golden;

/// <summary>The outcome of running one golden file: per-tensor comparisons and the verdict.</summary>
public sealed record GoldenReport(string File, string Kind, DType DType, Device Device, IReadOnlyList<TensorComparison> Tensors)
{
    /// <summary>True when at least one tensor was compared and every one is within tolerance.</summary>
    public bool Passed => Tensors.Any(t => !t.Skipped) && Tensors.All(t => t.Passed);

    /// <summary>The worst relative error of the compared tensors.</summary>
    public double WorstRelErr => Tensors.Any(t => !t.Skipped) ? Tensors.Where(t => !t.Skipped).Max(t => t.RelErr) : double.NaN;

    /// <summary>Stored reference tensors the engine does not produce (listed, not compared).</summary>
    public IReadOnlyList<string> NotComputed => [.. Tensors.Where(t => t.Skipped).Select(t => t.Name)];

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
            if (t.Skipped) line = $"  {t.Name.PadRight(nw)}  {t.Shape.ToString().PadRight(sw)}  {"",10}  {"",10}  {"",10}  {"",8}  not computed";
            w.WriteLine(t.Note == null || t.Skipped ? line : $"{line}  ({t.Note})");
        }
        var compared = Tensors.Where(t => !t.Skipped).ToList();
        int ok = compared.Count(t => t.Passed);
        var skipped = NotComputed.Count == 0 ? "" : $"; {NotComputed.Count} reference tensor(s) not computed: {string.Join(", ", NotComputed)}";
        w.WriteLine(Passed
            ? string.Format(ci, "PASS ({0}/{1} tensors within tolerance, worst {2:0.000e+00}{3})", ok, compared.Count, WorstRelErr, skipped)
            : $"FAIL ({ok}/{compared.Count} tensors within tolerance{skipped})");
    }
}
