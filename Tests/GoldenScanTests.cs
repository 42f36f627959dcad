using LightNet.Cli.Golden;

namespace LightNet.Tests;

/// <summary>The additive-scan golden files, run in-process through the golden runner.</summary>
[Category("Golden")]
public class GoldenScanTests
{
    [TestCase("scan_causal_small.safetensors", DType.Float32)]
    [TestCase("scan_causal_small.safetensors", DType.Float64)]
    [TestCase("scan_noncausal_small.safetensors", DType.Float32)]
    [TestCase("scan_noncausal_small.safetensors", DType.Float64)]
    public void ScanGoldenPasses(string file, DType dtype)
    {
        var report = GoldenRunner.Run(GoldenFiles.File(file), dtype);
        var text = new StringWriter();
        report.Write(text);
        Assert.That(report.Tensors.Select(t => t.Name), Is.EquivalentTo(new[] { "o", "dq", "dk", "dv" }), text.ToString());
        Assert.That(report.Passed, Is.True, text.ToString());
        TestContext.Out.WriteLine(text.ToString());
    }

    [Test]
    public void RunnerLeavesNoLiveTensors()
    {
        var path = GoldenFiles.File("scan_causal_small.safetensors");
        GoldenRunner.Run(path);
        long before = MemoryStats.LiveTensors;
        var report = GoldenRunner.Run(path, DType.Float64);
        Assert.That(report.Passed, Is.True);
        Assert.That(MemoryStats.LiveTensors, Is.EqualTo(before));
    }
}
