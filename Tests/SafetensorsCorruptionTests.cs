using System.Buffers.Binary;

namespace LightNet.Tests;

/// <summary>Malformed and hostile safetensors files: each must give a clear <see cref="InvalidDataException"/>, never a crash or an out-of-bounds read.</summary>
public class SafetensorsCorruptionTests
{
    private TempDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    private const string Good = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";

    private static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData C(string name, string header, int dataBytes, string expect, ulong? len = null, string? tensor = null) =>
            new TestCaseData(header, dataBytes, len, expect, tensor).SetName(name);
        yield return C("HugeHeaderLength", Good, 8, "exceeds the limit", len: ulong.MaxValue);
        yield return C("HeaderLengthPastEnd", Good, 8, "runs past the end of the file", len: 1000);
        yield return C("BadJson", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""", 8, "not valid JSON");
        yield return C("NotAnObject", "[1,2,3]", 0, "must be a JSON object");
        yield return C("EmptyHeader", "", 0, "not valid JSON");
        yield return C("OffsetsPastEnd", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4, "past the end of the data section", tensor: "a");
        yield return C("Overlap", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "overlap");
        yield return C("NegativeShape", """{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", 8, "negative", tensor: "a");
        yield return C("FractionalShape", """{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}""", 8, "not an integer", tensor: "a");
        yield return C("WrongByteCount", """{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, "needs 12 bytes", tensor: "a");
        yield return C("BeginAfterEnd", """{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}""", 8, "is after end", tensor: "a");
        yield return C("NegativeOffset", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""", 8, "negative", tensor: "a");
        yield return C("UnknownDType", """{"a":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}}""", 8, "unknown dtype 'F17'", tensor: "a");
        yield return C("MissingDType", """{"a":{"shape":[2],"data_offsets":[0,8]}}""", 8, "'dtype'", tensor: "a");
        yield return C("MissingOffsets", """{"a":{"dtype":"F32","shape":[2]}}""", 8, "'data_offsets'", tensor: "a");
        yield return C("ThreeOffsets", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}""", 8, "'data_offsets'", tensor: "a");
        yield return C("ShapeTooLargeForInt", """{"a":{"dtype":"F32","shape":[4294967296],"data_offsets":[0,8]}}""", 8, "exceeds", tensor: "a");
        yield return C("ShapeOverflow", """{"a":{"dtype":"F64","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}""", 8, "64 bits", tensor: "a");
        yield return C("ByteCountOverflow", """{"a":{"dtype":"F64","shape":[2147483647,2147483647,4],"data_offsets":[0,8]}}""", 8, "64 bits", tensor: "a");
        yield return C("DuplicateName", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "appears twice");
        yield return C("MetadataNotStrings", """{"__metadata__":{"x":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8, "must be a string");
        yield return C("EntryNotObject", """{"a":5}""", 0, "must be an object", tensor: "a");
        yield return C("DeepNesting", new string('[', 5000) + new string(']', 5000), 0, "not valid JSON");
    }

    [TestCaseSource(nameof(Cases))]
    public void MalformedFileIsRejected(string header, int dataBytes, ulong? headerLength, string expect, string? tensor)
    {
        var path = SafetensorsTests.Raw(_dir.File("bad.safetensors"), header, new byte[dataBytes], headerLength);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.That(e!.Message, Does.Contain(expect).And.Contain(path));
        if (tensor != null) Assert.That(e.Message, Does.Contain($"tensor '{tensor}'"));
    }

    [TestCase(0)]
    [TestCase(5)]
    public void TooShortFileIsRejected(int bytes)
    {
        var path = _dir.File("short.safetensors");
        File.WriteAllBytes(path, new byte[bytes]);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.That(e!.Message, Does.Contain("shorter than the 8-byte header length"));
    }

    [Test]
    public void TruncatedFileIsRejected()
    {
        var path = _dir.File("t.safetensors");
        using var a = Tensor.FromArray(new double[100]);
        SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["a"] = a });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^9]);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.That(e!.Message, Does.Contain("tensor 'a'").And.Contain("past the end of the data section"));
    }

    /// <summary>Random truncations and byte corruptions of a valid file: opening and loading either works or throws a clear data error.</summary>
    [Test]
    public void FuzzedFilesNeverCrash()
    {
        var path = _dir.File("f.safetensors");
        using var a = Reference.Randn([3, 4], DType.Float32);
        using var b = Tensor.FromArray(new long[] { 1, 2, 3 });
        using var c = a.To(DType.BFloat16);
        SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b, ["c"] = c }, new Dictionary<string, string> { ["kind"] = "x" });
        var good = File.ReadAllBytes(path);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(good);
        var rng = new Random(12345);
        int rejected = 0;
        for (int trial = 0; trial < 400; trial++)
        {
            var bytes = (byte[])good.Clone();
            switch (trial % 4)
            {
                case 0: bytes = bytes[..rng.Next(bytes.Length)]; break;
                case 1: bytes[rng.Next(8)] = (byte)rng.Next(256); break;
                case 2:
                    for (int i = 0; i < 1 + rng.Next(3); i++) bytes[8 + rng.Next(headerEnd - 8)] = (byte)rng.Next(256);
                    break;
                default:
                    var digits = Enumerable.Range(8, headerEnd - 8).Where(i => char.IsAsciiDigit((char)bytes[i])).ToArray();
                    bytes[digits[rng.Next(digits.Length)]] = (byte)('0' + rng.Next(10));
                    break;
            }
            var p = _dir.File($"fuzz{trial}.safetensors");
            File.WriteAllBytes(p, bytes);
            try
            {
                using var f = SafetensorsFile.Open(p);
                foreach (var n in f.Names) f.Load(n).Dispose();
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException)
            {
                Assert.That(e.Message, Does.Contain(p));
                rejected++;
            }
        }
        Assert.That(rejected, Is.GreaterThan(100));
    }
}
