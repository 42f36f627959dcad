using LightNet.Cli.Golden;

namespace LightNet.Tests;

/// <summary>Typed access to a golden file's config and tensors, with errors that name the key.</summary>
[Category("Golden")]
public class GoldenContextTests
{
    private TempDir _dir = null!;
    private SafetensorsFile _file = null!;
    private GoldenContext _ctx = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        var path = _dir.File("ctx.safetensors");
        using var x = Tensor.FromArray(new[] { 1.0, 2.0 });
        SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["x"] = x }, new Dictionary<string, string>
        {
            ["kind"] = "test",
            ["scale"] = "0.125",
            ["config"] = """{"hidden": 16, "eps": 1e-06, "causal": true, "grid": [3, 4], "heads": null, "act": "swish", "scale": 2.0}""",
        });
        _file = SafetensorsFile.Open(path);
        _ctx = new GoldenContext(_file, DType.Float32, Device.Cpu);
    }

    [TearDown]
    public void TearDown()
    {
        _file.Dispose();
        _dir.Dispose();
    }

    [Test]
    public void TypedConfigValues()
    {
        Assert.That(_ctx.ConfigInt("hidden"), Is.EqualTo(16));
        Assert.That(_ctx.ConfigDouble("eps"), Is.EqualTo(1e-6));
        Assert.That(_ctx.ConfigBool("causal"), Is.True);
        Assert.That(_ctx.ConfigInts("grid"), Is.EqualTo(new[] { 3, 4 }));
        Assert.That(_ctx.ConfigIntOrNull("heads"), Is.Null);
        Assert.That(_ctx.ConfigIntOrNull("absent"), Is.Null);
        Assert.That(_ctx.ConfigString("act"), Is.EqualTo("swish"));
        Assert.That(_ctx.MetadataOrConfigDouble("scale"), Is.EqualTo(0.125), "metadata wins over config");
        Assert.That(_ctx.HasConfig("heads"), Is.True);
    }

    [Test]
    public void ConfigErrorsNameTheKey()
    {
        Assert.That(() => _ctx.ConfigInt("missing_key"), Throws.TypeOf<GoldenFileException>().With.Message.Contain("missing required config key 'missing_key'"));
        Assert.That(() => _ctx.ConfigInt("eps"), Throws.TypeOf<GoldenFileException>().With.Message.Contain("'eps' must be an integer"));
        Assert.That(() => _ctx.ConfigBool("hidden"), Throws.TypeOf<GoldenFileException>().With.Message.Contain("'hidden' must be true or false"));
        Assert.That(() => _ctx.ConfigInts("act"), Throws.TypeOf<GoldenFileException>().With.Message.Contain("'act' must be an array"));
        Assert.That(() => _ctx.ConfigString("grid"), Throws.TypeOf<GoldenFileException>().With.Message.Contain("'grid' must be a string"));
        Assert.That(() => _ctx.Metadata("nope"), Throws.TypeOf<GoldenFileException>().With.Message.Contain("'nope'"));
    }

    [Test]
    public void TensorsComeInTheComputeDType()
    {
        using var x = _ctx.Load("x");
        Assert.That(x.DType, Is.EqualTo(DType.Float32));
        var leaf = _ctx.Leaf("x");
        Assert.That(leaf.RequiresGrad, Is.True);
        Assert.That(leaf.Name, Is.EqualTo("x"));
        leaf.Dispose();
        Assert.That(() => _ctx.Load("y"), Throws.TypeOf<GoldenFileException>().With.Message.Contain("missing tensor 'y'"));
    }
}
