namespace LightNet;

/// <summary>One tensor's header entry: name, file dtype, shape and byte range within the data section.</summary>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType FileDType, Shape Shape, long Begin, long End)
{
    /// <summary>The engine dtype <see cref="SafetensorsFile.Load"/> gives by default (null when not loadable).</summary>
    public DType? DType => FileDType.EngineDType();

    /// <summary>Number of bytes in the file.</summary>
    public long ByteLength => End - Begin;

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {FileDType.FileName()} {Shape} [{Begin}, {End})";
}
