using LightNet.Cli.Golden;

namespace LightNet.Tests.Reliability;

/// <summary><c>golden</c> accounts for every reference tensor of a file: an input, compared, or listed as not computed.</summary>
[Category("Reliability")]
public class GoldenReliabilityTests
{
    public static IEnumerable<TestCaseData> RepoFiles() =>
        Golden.Files(Golden.FilePath(".")).Select(f => new TestCaseData(f).SetArgDisplayNames(Path.GetFileName(f)));

    [TestCaseSource(nameof(RepoFiles))]
    public void EveryStoredTensorIsAnInputOrCompared(string path)
    {
        var report = GoldenRunner.Run(path, DType.Float64);
        using var f = SafetensorsFile.Open(path);
        var rows = report.Tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        Assert.That(report.Passed, Is.True);
        TestContext.Out.WriteLine($"{Path.GetFileName(path)}: compared {string.Join(", ", report.Tensors.Where(t => !t.Skipped).Select(t => t.Name))}; not computed: [{string.Join(", ", report.NotComputed)}]");
        // The repository's files hold nothing the engine cannot produce: every non-input is compared.
        Assert.That(report.NotComputed, Is.Empty);
        Assert.That(rows.Count(r => r.StartsWith("grad/", StringComparison.Ordinal)), Is.EqualTo(f.Names.Count(n => n.StartsWith("grad/", StringComparison.Ordinal))));
    }

    [Test]
    public void ReferenceTensorTheEngineCannotProduceIsListedNotSkipped()
    {
        using var dir = new TempDir();
        using var src = SafetensorsFile.Open(Golden.FilePath("scan_causal_small.safetensors"));
        var tensors = src.LoadAll();
        tensors["debug/state"] = Tensor.Zeros([2, 3]);
        var path = dir.File("extra.safetensors");
        SafetensorsFile.Save(path, tensors, src.Metadata);
        foreach (var t in tensors.Values) t.Dispose();

        var report = GoldenRunner.Run(path, DType.Float64);
        Assert.That(report.NotComputed, Is.EqualTo(new[] { "debug/state" }));
        Assert.That(report.Passed, Is.True, "an intermediate the engine cannot produce does not fail the file");
        var w = new StringWriter();
        report.Write(w);
        Assert.That(w.ToString(), Does.Contain("debug/state").And.Contain("not computed").And.Contain("PASS"));
    }

    [Test]
    public void WrongIntermediateFails()
    {
        using var dir = new TempDir();
        using var src = SafetensorsFile.Open(Golden.FilePath("scan_causal_small.safetensors"));
        var tensors = src.LoadAll();
        var g = tensors["g"];
        tensors["g"] = g + 1e-3;
        g.Dispose();
        var path = dir.File("wrong_g.safetensors");
        SafetensorsFile.Save(path, tensors, src.Metadata);
        foreach (var t in tensors.Values) t.Dispose();
        var report = GoldenRunner.Run(path, DType.Float64);
        Assert.That(report.Passed, Is.False);
        Assert.That(report.Tensors.Single(t => !t.Passed).Name, Is.EqualTo("g"));
    }
}
