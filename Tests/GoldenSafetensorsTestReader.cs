using System.Text.Json;

namespace LightNet.Tests;

/// <summary>Test convenience over <see cref="SafetensorsFile"/>: golden tensors as double arrays or tensors of a dtype, and the parsed config.</summary>
internal sealed class GoldenSafetensorsTestReader
{
    private readonly string _path;

    public GoldenSafetensorsTestReader(string path)
    {
        _path = path;
        using var f = SafetensorsFile.Open(path);
        Metadata = new Dictionary<string, string>(f.Metadata);
        Names = [.. f.Names];
    }

    public Dictionary<string, string> Metadata { get; }

    public IReadOnlyList<string> Names { get; }

    public double[] Doubles(string name)
    {
        using var f = SafetensorsFile.Open(_path);
        using var t = f.Load(name, DType.Float64);
        return t.ToArray<double>();
    }

    public Tensor Tensor(string name, DType dtype = DType.Float64)
    {
        using var f = SafetensorsFile.Open(_path);
        return f.Load(name, dtype);
    }

    public JsonElement Config() => JsonDocument.Parse(Metadata["config"]).RootElement.Clone();

    public static string GoldenPath(string file) => Golden.FilePath(file);
}
