using System.Buffers.Binary;
using System.Text;

namespace LightNet.Tests.Reliability;

/// <summary>
/// The reader is exactly as strict as Hugging Face's (safetensors/src/tensor.rs: read_metadata, Metadata::validate), names the
/// file and tensor in every failure, and survives a file that changes underneath it.
/// </summary>
[Category("Reliability")]
public class SafetensorsReliabilityTests
{
    private TempDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    private string Save(string name, Dictionary<string, Tensor> tensors, Dictionary<string, string>? metadata = null)
    {
        var path = _dir.File(name);
        SafetensorsFile.Save(path, tensors, metadata);
        return path;
    }

    private static InvalidDataException Rejected(string path)
    {
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            using var f = SafetensorsFile.Open(path);
            foreach (var n in f.Names) f.Load(n).Dispose();
        });
        Assert.That(e!.Message, Does.Contain(path));
        return e;
    }

    private static void SetHeaderLength(string path, long delta)
    {
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)((long)BinaryPrimitives.ReadUInt64LittleEndian(bytes) + delta));
        File.WriteAllBytes(path, bytes);
    }

    [Test]
    public void HeaderLengthOneByteShortIsRejectedNotShifted()
    {
        // The header is padded with spaces, so one byte short still parses: every tensor would load shifted by a byte.
        using var a = Tensor.FromArray(new float[] { 1, 2, 3 });
        var path = Save("short.safetensors", new() { ["a"] = a });
        var json = File.ReadAllBytes(path).AsSpan(8, (int)BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(path)));
        Assume.That(json[^1], Is.EqualTo((byte)' '), "the header has padding");
        SetHeaderLength(path, -1);
        var e = Rejected(path);
        Assert.That(e.Message, Does.Contain("tensor 'a'").And.Contain("ends at byte 12 of a 13-byte data section"));
    }

    [Test]
    public void HeaderLengthShortIntoTheJsonIsRejected()
    {
        var path = SafetensorsTests.Raw(_dir.File("cut.safetensors"), """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]);
        SetHeaderLength(path, -1);
        Assert.That(Rejected(path).Message, Does.Contain("not valid JSON"));
    }

    [Test]
    public void HeaderLengthOneByteLongIsRejected()
    {
        using var a = Tensor.FromArray(new float[] { 1, 2, 3 });
        var path = Save("long.safetensors", new() { ["a"] = a });
        SetHeaderLength(path, 1);
        Rejected(path);
    }

    private static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData C(string name, string header, int dataBytes, string expect, string? tensor = null) =>
            new TestCaseData(header, dataBytes, expect, tensor).SetName("HfRule_" + name);
        yield return C("Gap", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12, "gap", "b");
        yield return C("FirstNotAtZero", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "must start at 0", "a");
        yield return C("TrailingBytes", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 5, "ends at byte 4 of a 5-byte data section", "a");
        yield return C("DataWithoutTensors", """{}""", 4, "declares no tensor data");
        yield return C("MetadataOnlyWithData", """{"__metadata__":{"format":"pt"}}""", 1, "declares no tensor data");
        yield return C("Overlap", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "overlap", "b");
        yield return C("SameRange", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, "overlap");
        yield return C("DuplicateField", """{"a":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}""", 4, "field 'dtype' appears twice", "a");
        yield return C("NegativeZeroShape", """{"a":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}}""", 0, "negative", "a");
        yield return C("NegativeZeroOffset", """{"a":{"dtype":"F32","shape":[0],"data_offsets":[-0,0]}}""", 0, "negative", "a");
        yield return C("ExponentShape", """{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}""", 4, "not an integer", "a");
        yield return C("StringShape", """{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}""", 4, "not an integer", "a");
        yield return C("OffsetBeyondInt64", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}}""", 4, "not an integer", "a");
        yield return C("LowercaseDType", """{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}""", 4, "unknown dtype", "a");
        yield return C("LoneSurrogateKey", "{\"a\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "lone UTF-16 surrogate");
        yield return C("LoneSurrogateDType", "{\"a\":{\"dtype\":\"F\\udc00\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "lone UTF-16 surrogate", "a");
        yield return C("LoneSurrogateMetadata", "{\"__metadata__\":{\"k\":\"\\ud800x\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "lone UTF-16 surrogate");
        yield return C("LoneSurrogateMetadataKey", "{\"__metadata__\":{\"\\udfff\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "lone UTF-16 surrogate");
        yield return C("ByteOrderMark", "\uFEFF{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "byte-order mark");
        yield return C("TrailingGarbage", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}x""", 4, "not valid JSON");
        yield return C("TrailingComma", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}""", 4, "not valid JSON");
        yield return C("Comment", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}/**/""", 4, "not valid JSON");
        yield return C("MetadataArray", """{"__metadata__":["x"],"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, "must be an object of strings");
    }

    [TestCaseSource(nameof(Cases))]
    public void FileHuggingFaceRejectsIsRejected(string header, int dataBytes, string expect, string? tensor)
    {
        var path = SafetensorsTests.Raw(_dir.File("bad.safetensors"), header, new byte[dataBytes]);
        var e = Rejected(path);
        Assert.That(e.Message, Does.Contain(expect));
        if (tensor != null) Assert.That(e.Message, Does.Contain($"tensor '{tensor}'"));
    }

    [Test]
    public void InvalidUtf8InTheHeaderIsANamedError()
    {
        var h = Encoding.UTF8.GetBytes("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""");
        h[2] = 0xC3;   // a lead byte without its continuation, inside the key
        var bytes = new byte[8 + h.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        var path = _dir.File("utf8.safetensors");
        File.WriteAllBytes(path, bytes);
        Assert.That(Rejected(path).Message, Does.Contain("not valid UTF-8"));
    }

    /// <summary>Files Hugging Face accepts: offsets in any header order, zero-size tensors, null metadata, unknown fields, whitespace padding of any kind.</summary>
    [TestCase("""{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 8)]
    [TestCase("""{"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"f":{"dtype":"F32","shape":[2,0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4)]
    [TestCase("""{"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4)]
    [TestCase("""{"__metadata__":null,"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4)]
    [TestCase("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":[1,{"x":2}]}}""", 4)]
    [TestCase(" \t\r\n{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} \n\t ", 4)]
    [TestCase("""{}""", 0)]
    [TestCase("""{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}""", 8)]
    public void FileHuggingFaceAcceptsIsAccepted(string header, int dataBytes)
    {
        var path = SafetensorsTests.Raw(_dir.File("ok.safetensors"), header, Enumerable.Range(0, dataBytes).Select(i => (byte)i).ToArray());
        using var f = SafetensorsFile.Open(path);
        foreach (var n in f.Names) f.Load(n).Dispose();
    }

    [TestCase(DType.Float32, 20)]
    [TestCase(DType.Float64, 100)]
    [TestCase(DType.Float32, 0)]
    public void FileTruncatedWhileOpenIsAnExceptionNotACrash(DType dtype, long keep)
    {
        using var a = Reference.Randn([64, 64], dtype);
        using var b = Reference.Randn([8], dtype);
        var path = Save("t.safetensors", new() { ["a"] = a, ["b"] = b });
        using var f = SafetensorsFile.Open(path);
        using (var w = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            w.SetLength(keep);
        var e = Assert.Throws<InvalidDataException>(() => f.Load("a").Dispose());
        Assert.That(e!.Message, Does.Contain(path).And.Contain("tensor 'a'").And.Contain("truncated"));
    }

    [Test]
    public void ConvertedLoadOfATruncatedFileIsAnException()
    {
        // F16 goes through the decoding path (a bounded buffer), not a straight read.
        var halves = Enumerable.Range(0, 1000).SelectMany(i => BitConverter.GetBytes((Half)i)).ToArray();
        var path = SafetensorsTests.Raw(_dir.File("h.safetensors"), """{"h":{"dtype":"F16","shape":[1000],"data_offsets":[0,2000]}}     """, halves);
        using var f = SafetensorsFile.Open(path);
        using (var w = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) w.SetLength(1000);
        Assert.That(Assert.Throws<InvalidDataException>(() => f.Load("h").Dispose())!.Message, Does.Contain("tensor 'h'").And.Contain("truncated"));
    }

    [Test]
    public void FileReplacedOrDeletedWhileOpenStillLoadsTheOpenedContent()
    {
        using var a = Tensor.FromArray(new float[] { 1, 2, 3, 4 });
        using var other = Tensor.FromArray(new float[] { 9, 9 });
        var path = Save("r.safetensors", new() { ["a"] = a });
        using var f = SafetensorsFile.Open(path);
        SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["x"] = other });   // replaced by rename, as writers do
        using (var t = f.Load("a")) Assert.That(t.ToArray<float>(), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
        File.Delete(path);
        using (var t = f.Load("a")) Assert.That(t.ToArray<float>(), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void LargeTensorLoadsAcrossReadChunks()
    {
        // More than one 64 MiB read.
        var n = (1 << 24) + 3;
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = i;
        using var src = Tensor.FromArray(data);
        var path = Save("big.safetensors", new() { ["big"] = src });
        using var f = SafetensorsFile.Open(path);
        using var t = f.Load("big");
        var back = t.ToArray<float>();
        Assert.That(back[^1], Is.EqualTo((float)(n - 1)));
        Assert.That(back.AsSpan().SequenceEqual(data), Is.True);
    }
}
