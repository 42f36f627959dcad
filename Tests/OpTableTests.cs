using System.Text.RegularExpressions;
using LightNet.Autograd;

namespace LightNet.Tests;

/// <summary>
/// The op table: every entry of <see cref="OpRegistry.All"/> (every name <c>Graph.Record</c> accepts) × device × dtype ×
/// layout, one case each. Values are compared with the op in float64 on the CPU on contiguous inputs; gradients in
/// float64 on the CPU with central finite differences (<see cref="GradCheck"/>), and on every other device and dtype with
/// those float64 gradients. Layouts: contiguous; permuted (each input a non-contiguous view of storage laid out with its
/// first and last axes swapped, or every second element for a vector); broadcast (inputs of different shapes, where the
/// entry says the op broadcasts).
/// </summary>
[TestFixture, Category("OpTable")]
public class OpTableTests
{
    /// <summary>The CPU, and CUDA where a GPU is usable (without one, <see cref="CudaCasesRunWhereAGpuIs"/> is the one skipped test).</summary>
    private static string[] Devices => Gpu.Available ? ["cpu", "cuda"] : ["cpu"];
    private static readonly DType[] DTypes = [DType.Float32, DType.Float64];

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var spec in OpRegistry.All)
            foreach (var device in Devices)
                foreach (var dtype in DTypes)
                    foreach (var layout in spec.Broadcast == null ? new[] { "contiguous", "permuted" } : ["contiguous", "permuted", "broadcast"])
                        yield return new TestCaseData(spec, device, dtype, layout).SetName($"OpTable({spec.Label}, {device}, {dtype.Name()}, {layout})");
    }

    [Test]
    public void CudaCasesRunWhereAGpuIs()
    {
        Gpu.Require();
        Assert.That(Cases().Count(c => (string)c.Arguments[1]! == "cuda"), Is.EqualTo(Cases().Count(c => (string)c.Arguments[1]! == "cpu")), "every CPU case has its CUDA twin");
    }

    [TestCaseSource(nameof(Cases))]
    public void OpTable(OpSpec spec, string device, DType dtype, string layout)
    {
        var dev = device == "cuda" ? Gpu.Require() : Device.Cpu;
        bool permuted = layout == "permuted";
        var inputs = layout == "broadcast" ? spec.Broadcast! : spec.Inputs;
        var stored = inputs.Select((input, i) => Stored(input, permuted, (ulong)(i + 1))).ToArray();
        Variable Under(Variable[] xs) => spec.Apply(permuted ? xs.Select((x, i) => View(x, inputs[i].Shape.Length)).ToArray() : xs);

        // The float64 reference, on contiguous inputs holding the same values; it must record the op it is named after.
        Tensor expected = null!;
        var views = stored.Select((s, i) => permuted ? ViewOf(s, inputs[i].Shape.Length) : s).ToArray();
        if (permuted) Assert.That(views.Any(v => !v.IsContiguous), Is.True, "the permuted layout gives the op a non-contiguous input");
        var logical = views.Select(v => v.Contiguous()).ToArray();
        var names = OpRegistry.Recorded(() =>
            expected = spec.Apply(logical.Select(t => new Variable(t, requiresGrad: true)).ToArray()).Data);
        Assert.That(names, Does.Contain(spec.Name), $"{spec.Label}: the entry's case does not record '{spec.Name}'");

        var leaves = stored.Select(s => new Variable(s.To(dtype).To(dev), requiresGrad: true)).ToArray();
        var y = Under(leaves);
        Assert.That(y.Device, Is.EqualTo(dev), "output device");
        Assert.That(y.DType, Is.EqualTo(dtype), "output dtype");
        double tol = dtype == DType.Float64 ? 1e-10 : 1e-4;
        Reference.Close(y.Data, expected, tol, $"{spec.Label} value");

        if (dev.Kind == DeviceKind.Cpu && dtype == DType.Float64)
        {
            var check = GradCheck.Check(Under, stored);
            Assert.That(check.Passed, Is.True, $"{spec.Label} gradient against finite differences:\n{check.Report}");
            return;
        }

        // The gradients of Σ y ⊙ w against the float64 CPU gradients (which the float64 CPU case checks by finite differences).
        using var w = Tensor.RandN(y.Shape, new Generator(7), DType.Float64);
        var refLeaves = stored.Select(s => new Variable(s, requiresGrad: true)).ToArray();
        Under(refLeaves).Backward(w);
        using (var wd = w.To(dtype))
        using (var wdev = wd.To(dev))
            y.Backward(wdev);
        for (int i = 0; i < leaves.Length; i++)
        {
            var want = refLeaves[i].Grad?.ToDoubleArray() ?? new double[stored[i].Numel];
            var got = leaves[i].Grad?.ToDoubleArray() ?? new double[stored[i].Numel];
            double e = Reference.RelErr(got, want);
            Assert.That(e, Is.LessThanOrEqualTo(tol), $"{spec.Label} gradient of input {i} {stored[i].Shape}: relative error {e:G3} > {tol:G3}");
        }
    }

    /// <summary>Every entry is a distinct case: no label appears twice.</summary>
    [Test]
    public void LabelsAreDistinct()
    {
        var twice = OpRegistry.All.GroupBy(s => s.Label).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.That(twice, Is.Empty);
    }

    /// <summary>
    /// Every <c>Graph.Record</c> call in the Autograd sources names its op by a string literal (or a ternary of them)
    /// or through <c>OpRegistry.Name</c>, and every literal is registered: an op no test runs still cannot be
    /// recorded without an entry. (At run time <c>Graph.Record</c> refuses an unregistered name in any case.)
    /// </summary>
    [Test]
    public void EveryRecordCallSiteNamesARegisteredOp()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Autograd", "Graph.cs"))) dir = dir.Parent;
        if (dir == null) Assert.Ignore("the Autograd sources are not beside this build (a bundle): the call sites are not scanned");
        int sites = 0;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(dir!.FullName, "Autograd"), "*.cs", SearchOption.AllDirectories))
            foreach (var line in File.ReadLines(file))
            {
                if (line.TrimStart().StartsWith("//", StringComparison.Ordinal)) continue;
                foreach (Match m in Regex.Matches(line, @"Graph\.Record\(([^,]+),"))
                {
                    sites++;
                    var arg = m.Groups[1].Value;
                    var where = $"{Path.GetFileName(file)}: {line.Trim()}";
                    if (arg.Contains("OpRegistry.Name(", StringComparison.Ordinal)) continue;
                    var literals = Regex.Matches(arg, "\"([^\"]*)\"").Select(l => l.Groups[1].Value).ToList();
                    Assert.That(literals, Is.Not.Empty, $"the op name is neither a literal nor OpRegistry.Name(…): {where}");
                    foreach (var name in literals)
                        Assert.That(OpRegistry.IsRegistered(name), Is.True, $"'{name}' has no entry in OpRegistry: {where}");
                }
            }
        Assert.That(sites, Is.GreaterThan(30), "the scan found the Graph.Record call sites");
    }

    /// <summary>Random float64 storage for an input: its own shape, or laid out for a permuted view.</summary>
    private static Tensor Stored(OpInput input, bool permuted, ulong seed)
    {
        var shape = input.Shape.ToArray();
        if (permuted && shape.Length >= 2) (shape[0], shape[^1]) = (shape[^1], shape[0]);
        else if (permuted && shape.Length == 1) shape = [shape[0], 2];
        return Tensor.Rand(shape, new Generator(seed), DType.Float64, low: input.Low, high: input.High);
    }

    /// <summary>The non-contiguous view of stored data that holds an input of rank <paramref name="rank"/>.</summary>
    private static Variable View(Variable x, int rank) => rank switch
    {
        0 => x,
        1 => x.Select(1, 0),
        _ => x.Transpose(0, rank - 1),
    };

    /// <summary><see cref="View"/> on the tensor.</summary>
    private static Tensor ViewOf(Tensor stored, int rank) => rank switch
    {
        0 => stored.Contiguous(),
        1 => stored.Select(1, 0),
        _ => stored.Transpose(0, rank - 1),
    };
}
