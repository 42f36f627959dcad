using LightNet.Cli.Golden;

namespace LightNet.Tests;

/// <summary>The golden runner and the <c>lightnet golden</c> command on good, failing and malformed files.</summary>
[Category("Golden")]
public class GoldenRunnerTests
{
    private TempDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    /// <summary>A copy of the causal scan golden file with tensors and metadata edited.</summary>
    private string EditedScan(string name, Action<Dictionary<string, Tensor>, Dictionary<string, string>> edit)
    {
        using var src = SafetensorsFile.Open(Golden.FilePath("scan_causal_small.safetensors"));
        var tensors = src.LoadAll();
        var metadata = new Dictionary<string, string>(src.Metadata);
        edit(tensors, metadata);
        var path = _dir.File(name);
        SafetensorsFile.Save(path, tensors, metadata);
        foreach (var t in tensors.Values) t.Dispose();
        return path;
    }

    private static (int Code, string Out, string Err) Command(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Cli.Program.Run(["golden", .. args], o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void CommandPassesWithExitCodeZero()
    {
        var (code, output, err) = Command(Golden.FilePath("scan_noncausal_small.safetensors"), "--dtype", "float64");
        Assert.That(code, Is.Zero, output + err);
        Assert.That(output, Does.Contain("kind scan_noncausal").And.Contain("dtype float64").And.Contain("PASS"));
        Assert.That(output, Does.Contain("dq").And.Contain("dk").And.Contain("dv"));
    }

    [TestCase("scan_causal_small.safetensors", new[] { "o", "dq", "dk", "dv", "z", "kbar", "g" })]
    [TestCase("scan_noncausal_small.safetensors", new[] { "o", "dq", "dk", "dv", "kbar" })]
    public void ScanKindsCompareOutputAndGradientsAndLeakNothing(string file, string[] compared)
    {
        var path = Golden.FilePath(file);
        GoldenRunner.Run(path);
        long before = MemoryStats.LiveTensors;
        var report = GoldenRunner.Run(path, DType.Float64);
        Assert.That(report.Tensors.Select(t => t.Name), Is.EqualTo(compared), "outputs, gradients and every intermediate the file holds");
        Assert.That(report.NotComputed, Is.Empty);
        Assert.That(report.Passed, Is.True);
        Assert.That(MemoryStats.LiveTensors, Is.EqualTo(before), "the runner disposes inputs, graph and results");
    }

    [Test]
    public void WrongReferenceFailsWithExitCodeOne()
    {
        var path = EditedScan("wrong.safetensors", (t, _) =>
        {
            var dk = t["dk"];
            t["dk"] = dk * 1.001;
            dk.Dispose();
        });
        var (code, output, _) = Command(path, "--dtype", "float64");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(output, Does.Contain("FAIL"));
        var report = GoldenRunner.Run(path, DType.Float64);
        Assert.That(report.Tensors.Single(r => !r.Passed).Name, Is.EqualTo("dk"));
    }

    [Test]
    public void StoredGradientNobodyComputesFails()
    {
        var path = EditedScan("extra.safetensors", (t, _) => t["grad/scale"] = Tensor.Zeros([]));
        var report = GoldenRunner.Run(path, DType.Float64);
        Assert.That(report.Passed, Is.False);
        Assert.That(report.Tensors.Single(r => !r.Passed), Has.Property("Name").EqualTo("grad/scale").And.Property("Note").EqualTo("not computed"));
    }

    [Test]
    public void ScaleFallsBackToConfigAndMissingScaleIsNamed()
    {
        var fromConfig = EditedScan("cfg.safetensors", (_, m) => m.Remove("scale"));
        Assert.That(GoldenRunner.Run(fromConfig, DType.Float64).Passed, Is.True);
        var noScale = EditedScan("noscale.safetensors", (_, m) => { m.Remove("scale"); m["config"] = """{"B": 2, "unknown_key": [1]}"""; });
        var e = Assert.Throws<GoldenFileException>(() => GoldenRunner.Run(noScale));
        Assert.That(e!.Message, Does.Contain("missing required config key 'scale'").And.Contain(noScale));
        var (code, _, err) = Command(noScale);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("'scale'").And.Not.Contain("   at "));
    }

    [Test]
    public void MissingInputIsNamed()
    {
        var path = EditedScan("nodo.safetensors", (t, _) => { t["do"].Dispose(); t.Remove("do"); });
        var e = Assert.Throws<GoldenFileException>(() => GoldenRunner.Run(path));
        Assert.That(e!.Message, Does.Contain("missing tensor 'do'"));
    }

    [Test]
    public void MissingComparedOutputIsNamed()
    {
        var path = EditedScan("nodv.safetensors", (t, _) => { t["dv"].Dispose(); t.Remove("dv"); });
        var e = Assert.Throws<GoldenFileException>(() => GoldenRunner.Run(path));
        Assert.That(e!.Message, Does.Contain("missing tensor 'dv'"));
    }

    [Test]
    public void UnknownKindListsKnownKinds()
    {
        var path = EditedScan("kind.safetensors", (_, m) => m["kind"] = "warp_drive");
        var (code, _, err) = Command(path);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("unknown kind 'warp_drive'").And.Contain("scan_causal").And.Contain("scan_noncausal"));
    }

    [Test]
    public void MissingKindAndMalformedConfigAreErrors()
    {
        var noKind = EditedScan("nokind.safetensors", (_, m) => m.Remove("kind"));
        Assert.That(() => GoldenRunner.Run(noKind), Throws.TypeOf<GoldenFileException>().With.Message.Contain("no 'kind'"));
        var badConfig = EditedScan("badcfg.safetensors", (_, m) => { m.Remove("scale"); m["config"] = "{not json"; });
        Assert.That(() => GoldenRunner.Run(badConfig), Throws.TypeOf<GoldenFileException>().With.Message.Contain("'config' is not valid JSON"));
    }

    [Test]
    public void MalformedFileAndBadUsageExitWithTwo()
    {
        var junk = _dir.File("junk.safetensors");
        File.WriteAllText(junk, "this is not a safetensors file at all");
        var (code, _, err) = Command(junk);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("junk.safetensors").And.Not.Contain("   at "));
        Assert.That(Command(_dir.File("absent.safetensors")).Code, Is.EqualTo(2));
        Assert.That(Command().Code, Is.EqualTo(2));
        Assert.That(Command(junk, "--dtype", "int32").Code, Is.EqualTo(2));
        Assert.That(Command(junk, "--frobnicate").Code, Is.EqualTo(2));
        Assert.That(Command(junk, "--device").Code, Is.EqualTo(2));
        Assert.That(LightNet.Cli.Program.Main(["golden", junk]), Is.EqualTo(2), "the lightnet entry point dispatches to the command");
    }

    [Test]
    public void ShapeMismatchIsAFailingRowNotACrash()
    {
        var path = EditedScan("shape.safetensors", (t, _) =>
        {
            var o = t["o"];
            t["o"] = o.Reshape(2, 3, 185);
            o.Dispose();
        });
        var report = GoldenRunner.Run(path, DType.Float64);
        Assert.That(report.Passed, Is.False);
        Assert.That(report.Tensors.Single(r => r.Name == "o").Note, Does.Contain("shape"));
    }

    [TestCase(DType.Float32, SafetensorsDType.F64, 1e-4)]
    [TestCase(DType.Float32, SafetensorsDType.F32, 1e-4)]
    [TestCase(DType.Float64, SafetensorsDType.F64, 1e-10)]
    [TestCase(DType.Float64, SafetensorsDType.F32, 1e-6)]
    public void Tolerances(DType compute, SafetensorsDType stored, double expected) =>
        Assert.That(GoldenRunner.Tolerance(compute, stored), Is.EqualTo(expected));

    [Test]
    public void MetricIsMaxAbsDiffOverMaxAbsRef()
    {
        using var reference = Tensor.FromArray(new[] { 0.0, 2.0, -4.0 });
        using var ours = Tensor.FromArray(new[] { 1e-3, 2.0, -4.002 });
        var c = TensorComparison.Of("x", ours, reference, 1e-3);
        Assert.That(c.RelErr, Is.EqualTo(0.002 / 4).Within(1e-15));
        Assert.That(c.Passed, Is.True);
        using var nan = Tensor.FromArray(new[] { double.NaN, 2.0, -4.0 });
        Assert.That(TensorComparison.Of("x", nan, reference, 1e-3).Passed, Is.False);
    }
}
