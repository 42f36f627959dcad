using System.Buffers.Binary;
using System.Text;
using LightNet.Models.LightNet;

namespace LightNet.Tests;

public class SafetensorsTests
{
    private TempDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    /// <summary>Writes a file from a raw header string and data bytes (header length given or taken from the header).</summary>
    internal static string Raw(string path, string header, byte[]? data = null, ulong? headerLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + (data?.Length ?? 0)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data?.CopyTo(bytes, 8 + h.Length);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    [TestCase(DType.BFloat16)]
    public void RoundTripEngineDType(DType dtype)
    {
        using var baseT = Reference.Randn([3, 5], DType.Float32, seed: 4) * 100;
        using var dense = baseT.To(dtype);
        using var strided = Reference.NonContiguous(dense);
        using var scalar = Tensor.Full([], 7, dtype);
        using var empty = Tensor.Zeros([0, 3], dtype);
        var path = _dir.File("x.safetensors");
        SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["dense"] = dense, ["strided"] = strided, ["scalar"] = scalar, ["empty"] = empty });
        using var f = SafetensorsFile.Open(path);
        Assert.That(f.Names, Is.EqualTo(new[] { "dense", "empty", "scalar", "strided" }));
        foreach (var (name, t) in new[] { ("dense", dense), ("strided", strided), ("scalar", scalar), ("empty", empty) })
        {
            var info = f.Info(name);
            Assert.That(info.DType, Is.EqualTo(dtype), name);
            Assert.That(info.Shape, Is.EqualTo(t.Shape), name);
            using var back = f.Load(name);
            Assert.That(back.DType, Is.EqualTo(dtype), name);
            Assert.That(back.Shape, Is.EqualTo(t.Shape), name);
            Assert.That(back.ToDoubleArray(), Is.EqualTo(t.ToDoubleArray()), name);
        }
    }

    [Test]
    public void FileOnlyDTypesLoadWidened()
    {
        var data = new List<byte>();
        Half[] halves = [(Half)1.5f, (Half)(-2f), Half.MaxValue, (Half)6.103515625e-05f];
        foreach (var hv in halves) data.AddRange(BitConverter.GetBytes(hv));      // F16 [0, 8)
        data.AddRange([0, 1, 2]);                                                  // BOOL [8, 11)
        data.AddRange([0, 200, 255]);                                              // U8 [11, 14)
        data.AddRange([0x80, 0x7F, 0xFF]);                                         // I8 [14, 17)
        data.AddRange(BitConverter.GetBytes((short)-300)); data.AddRange(BitConverter.GetBytes((short)300));   // I16 [17, 21)
        data.AddRange(BitConverter.GetBytes((ushort)65535));                                                    // U16 [21, 23)
        data.AddRange(BitConverter.GetBytes(4000000000u));                                                      // U32 [23, 27)
        var header = """
            {"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]},
             "u8":{"dtype":"U8","shape":[3],"data_offsets":[11,14]},"i8":{"dtype":"I8","shape":[3],"data_offsets":[14,17]},
             "i16":{"dtype":"I16","shape":[2],"data_offsets":[17,21]},"u16":{"dtype":"U16","shape":[1],"data_offsets":[21,23]},
             "u32":{"dtype":"U32","shape":[1],"data_offsets":[23,27]}}
            """;
        using var f = SafetensorsFile.Open(Raw(_dir.File("w.safetensors"), header, [.. data]));
        using var h = f.Load("h");
        Assert.That(h.DType, Is.EqualTo(DType.Float32));
        Assert.That(h.ToArray<float>(), Is.EqualTo(halves.Select(x => (float)x).ToArray()));
        using var b = f.Load("b"); Assert.That(b.ToArray<int>(), Is.EqualTo(new[] { 0, 1, 1 }));
        using var u8 = f.Load("u8"); Assert.That(u8.ToArray<int>(), Is.EqualTo(new[] { 0, 200, 255 }));
        using var i8 = f.Load("i8"); Assert.That(i8.ToArray<int>(), Is.EqualTo(new[] { -128, 127, -1 }));
        using var i16 = f.Load("i16"); Assert.That(i16.ToArray<int>(), Is.EqualTo(new[] { -300, 300 }));
        using var u16 = f.Load("u16"); Assert.That(u16.ToArray<int>(), Is.EqualTo(new[] { 65535 }));
        using var u32 = f.Load("u32"); Assert.That(u32.ToArray<long>(), Is.EqualTo(new[] { 4000000000L }));
    }

    [Test]
    public void UnloadableDTypeIsRejectedAtLoadNamingTheTensor()
    {
        var path = Raw(_dir.File("u64.safetensors"), """{"big":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}}""", new byte[8]);
        using var f = SafetensorsFile.Open(path);
        Assert.That(f.Info("big").FileDType, Is.EqualTo(SafetensorsDType.U64));
        var e = Assert.Throws<NotSupportedException>(() => f.Load("big").Dispose());
        Assert.That(e!.Message, Does.Contain("big").And.Contain("U64").And.Contain(path));
    }

    [Test]
    public void LoadConvertsOnRequest()
    {
        using var x = Tensor.FromArray(new[] { 1.0, -2.5, 3.25 });
        using var bf = x.To(DType.Float32).To(DType.BFloat16);
        var path = _dir.File("c.safetensors");
        SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["x"] = x, ["bf"] = bf });
        using var f = SafetensorsFile.Open(path);
        using var asF32 = f.Load("bf", DType.Float32);
        Assert.That(asF32.ToArray<float>(), Is.EqualTo(new[] { 1f, -2.5f, 3.25f }));
        using var asBf = f.Load("x", DType.BFloat16);
        Assert.That(asBf.DType, Is.EqualTo(DType.BFloat16));
        Assert.That(asBf.ToDoubleArray(), Is.EqualTo(new[] { 1.0, -2.5, 3.25 }));
        using var asF = f.Load("x", DType.Float32);
        Assert.That(asF.ToArray<float>(), Is.EqualTo(new[] { 1f, -2.5f, 3.25f }));
    }

    [Test]
    public void SaveIsDeterministicSortedAndPadded()
    {
        using var a = Tensor.FromArray(new[] { 1f, 2f });
        using var b = Tensor.FromArray(new long[] { 3 });
        var p1 = _dir.File("1.safetensors");
        var p2 = _dir.File("2.safetensors");
        SafetensorsFile.Save(p1, new Dictionary<string, Tensor> { ["b"] = b, ["a"] = a }, new Dictionary<string, string> { ["z"] = "1", ["format"] = "pt" });
        SafetensorsFile.Save(p2, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b }, new Dictionary<string, string> { ["format"] = "pt", ["z"] = "1" });
        var bytes = File.ReadAllBytes(p1);
        Assert.That(File.ReadAllBytes(p2), Is.EqualTo(bytes));
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.That(n % 8, Is.Zero);
        var header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.That(header.TrimEnd(' '), Is.EqualTo(
            """{"__metadata__":{"format":"pt","z":"1"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}"""));
        Assert.That(bytes, Has.Length.EqualTo(8 + n + 16));
        using var f = SafetensorsFile.Open(p1);
        Assert.That(f.Metadata, Is.EquivalentTo(new Dictionary<string, string> { ["format"] = "pt", ["z"] = "1" }));
    }

    [Test]
    public void SaveIsAtomicAndLeavesNoTemporaryFiles()
    {
        var path = _dir.File("m.safetensors");
        using var a = Tensor.FromArray(new[] { 1f });
        SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["a"] = a });
        var before = File.ReadAllBytes(path);
        var disposed = Tensor.FromArray(new[] { 2f });
        disposed.Dispose();
        Assert.That(() => SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = disposed }), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(() => SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = a }), Throws.ArgumentException);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before), "a failed save leaves the old file intact");
        using var c = Tensor.FromArray(new[] { 5.0, 6.0 });
        SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["c"] = c });
        Assert.That(Directory.GetFiles(_dir.Path).Select(Path.GetFileName), Is.EqualTo(new[] { "m.safetensors" }));
        using var f = SafetensorsFile.Open(path);
        Assert.That(f.Names, Is.EqualTo(new[] { "c" }));
    }

    /// <summary>The repository's fla checkpoint (scripts/golden/make_lightnet_lm.py, Hugging Face's layout): fla's names, F32, the sizes of its config.json, lightnet_lm_small's weights.</summary>
    [Test]
    public void RealFlaCheckpointLoads()
    {
        using var f = SafetensorsFile.Open(Golden.FilePath("fla_checkpoint_small/model.safetensors"));
        Assert.That(f.Metadata, Is.EquivalentTo(new Dictionary<string, string> { ["format"] = "pt" }));
        Assert.That(f.Names, Has.Count.EqualTo(3 + 2 * 12));
        Assert.That(f.Names, Does.Contain("model.embeddings.weight").And.Contain("lm_head.weight").And.Contain("model.layers.1.attn.g_proj.0.weight"));
        Assert.That(f.Names.Select(n => f.Info(n).FileDType), Is.All.EqualTo(SafetensorsDType.F32));
        Assert.That(f.Info("lm_head.weight").Shape, Is.EqualTo(new Shape(128, 64)));
        Assert.That(f.Info("model.layers.0.attn.q_proj.weight").Shape, Is.EqualTo(new Shape(64, 64)));
        Assert.That(f.Info("model.layers.0.attn.g_proj.0.weight").Shape, Is.EqualTo(new Shape(8, 64)));
        Assert.That(f.Info("model.layers.0.mlp.down_proj.weight").Shape, Is.EqualTo(new Shape(64, 256)));
        var cfg = LightNetConfig.FromJson(File.ReadAllText(Golden.FilePath("fla_checkpoint_small/config.json")));
        Assert.That((cfg.VocabSize, cfg.HiddenSize, cfg.NumHiddenLayers, cfg.ExpandRatio, cfg.GateLowRankDim, cfg.Intermediate), Is.EqualTo((128, 64, 2, 16, 8, 256)));
        using var g = SafetensorsFile.Open(Golden.FilePath("lightnet_lm_small.safetensors"));
        foreach (var n in f.Names)
        {
            using var w = f.Load(n);
            using var reference = g.Load("param/" + n);
            Assert.That(w.ToArray<float>(), Is.EqualTo(reference.ToArray<float>()), $"the checkpoint holds lightnet_lm_small's {n}");
        }
    }

    /// <summary>Every checkpoint folder (the repository's, and the shared ones where present): re-saving gives Hugging Face's bytes.</summary>
    [TestCaseSource(typeof(Golden), nameof(Golden.CheckpointCases))]
    public void ResavingTheFlaCheckpointIsByteIdentical(string dir)
    {
        var src = Path.Combine(dir, "model.safetensors");
        var path = _dir.File("model.safetensors");
        using (var f = SafetensorsFile.Open(src))
        {
            var all = f.LoadAll();
            SafetensorsFile.Save(path, all, f.Metadata);
            foreach (var t in all.Values) t.Dispose();
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(File.ReadAllBytes(src)), "same header formatting, order, padding and data as Hugging Face");
    }
}
