using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace LightNet;

/// <summary>
/// A safetensors file opened for reading: memory-mapped, its header parsed and fully validated on open
/// (header length against file size, JSON, dtypes, shapes, offsets within the data section, byte sizes,
/// no overlaps), so that loading a tensor never reads outside the file. Dispose to unmap.
/// <code>using var f = SafetensorsFile.Open(path); using var w = f.Load("lm_head.weight");</code>
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _data;
    private bool _disposed;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    private SafetensorsFile(string path, Dictionary<string, SafetensorsTensorInfo> byName, Dictionary<string, string> metadata,
        MemoryMappedFile? map, MemoryMappedViewAccessor? view, long dataStart)
    {
        Path = path;
        _byName = byName;
        Metadata = metadata;
        Names = [.. byName.Keys.Order(StringComparer.Ordinal)];
        _map = map;
        _view = view;
        if (view != null)
        {
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _data = p + view.PointerOffset + dataStart;
        }
    }

    /// <summary>The file this was opened from.</summary>
    public string Path { get; }

    /// <summary>Tensor names, sorted ordinally.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The header's <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>True when the file holds a tensor of this name.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Header entry of a tensor (dtype, shape, byte range).</summary>
    public SafetensorsTensorInfo Info(string name) =>
        _byName.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"safetensors file '{Path}' has no tensor '{name}' ({_byName.Count} tensors)");

    /// <summary>Opens and validates a file; throws <see cref="InvalidDataException"/> naming the file (and tensor) when it is malformed.</summary>
    public static SafetensorsFile Open(string path)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors: big-endian hosts are not supported");
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            long length = fs.Length;
            if (length < 8) throw SafetensorsHeader.Bad(path, $"file is {length} bytes, shorter than the 8-byte header length");
            Span<byte> prefix = stackalloc byte[8];
            fs.ReadExactly(prefix);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (n > (ulong)SafetensorsHeader.MaxHeaderBytes)
                throw SafetensorsHeader.Bad(path, $"header length {n} exceeds the limit of {SafetensorsHeader.MaxHeaderBytes} bytes");
            if ((long)n > length - 8) throw SafetensorsHeader.Bad(path, $"header length {n} runs past the end of the file ({length} bytes)");
            var header = new byte[n];
            fs.ReadExactly(header);
            long dataStart = 8 + (long)n;
            var (tensors, metadata) = SafetensorsHeader.Parse(header, length - dataStart, path);
            var byName = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            foreach (var t in tensors) byName.Add(t.Name, t);
            if (length > dataStart)
            {
                map = MemoryMappedFile.CreateFromFile(fs, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
                view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            }
            else fs.Dispose();
            return new SafetensorsFile(path, byName, metadata, map, view, dataStart);
        }
        catch
        {
            view?.Dispose();
            map?.Dispose();
            fs.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads a tensor into new memory: by default as <see cref="SafetensorsTensorInfo.DType"/> (F16 becomes
    /// float32, BF16 stays bfloat16), or converted to <paramref name="as"/>; on the CPU unless a device is given.
    /// </summary>
    public Tensor Load(string name, DType? @as = null, Device? device = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = Info(name);
        var natural = info.DType ?? throw new NotSupportedException(
            $"safetensors file '{Path}': tensor '{name}' has dtype {info.FileDType.FileName()}, which LightNet cannot load");
        var host = Tensor.Empty(info.Shape, natural);
        try
        {
            if (info.ByteLength > 0)
                SafetensorsDecode.Decode(info.FileDType, _data + info.Begin, host.Ptr<byte>(), host.Numel);
            var converted = SafetensorsDecode.Convert(host, @as ?? natural);
            if (device is not Device d || d == Device.Cpu) return converted;
            using (converted) return converted.To(d);
        }
        finally
        {
            host.Dispose();
        }
    }

    /// <summary>Loads every tensor (name → tensor), each as in <see cref="Load"/>.</summary>
    public Dictionary<string, Tensor> LoadAll(DType? @as = null, Device? device = null) =>
        Names.ToDictionary(n => n, n => Load(n, @as, device), StringComparer.Ordinal);

    /// <summary>
    /// Writes tensors and metadata deterministically (tensors sorted by name, compact header padded with
    /// spaces to a multiple of 8 bytes, no timestamps) through a temporary file renamed into place.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsWriter.Write(path, tensors, metadata);

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_view != null && _data != null)
        {
            _data = null;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
        _view?.Dispose();
        _map?.Dispose();
    }
}
