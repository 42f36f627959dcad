using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace LightNet;

/// <summary>
/// A safetensors file opened for reading: its header parsed and validated on open exactly as strictly as Hugging Face's
/// reader (<c>safetensors/src/tensor.rs</c>, <c>read_metadata</c> and <c>Metadata::validate</c>): header length at most
/// 100,000,000 and within the file, UTF-8 JSON object, known dtypes, non-negative integer shapes and offsets, byte
/// sizes that agree with dtype and shape (overflow-checked), and tensors that tile the data section exactly: sorted by
/// offset, the first starts at 0, each starts where the previous one ends, and the last ends at the end of the file (no
/// gap, no overlap, no trailing bytes). This engine is stricter in two places: a key appearing twice (tensor or field)
/// is rejected (Hugging Face keeps the last), and dtypes it does not know (F4, F6_*, F8_E8M0, C64, ...) are rejected at open.
/// Every failure is an <see cref="InvalidDataException"/> naming the file (and the tensor, where one is at fault).
/// <para>
/// No memory mapping: tensors are read with <see cref="RandomAccess"/> straight into their own memory (one copy, as
/// loading from a mapping also made). A mapped file that another program truncates faults (SIGBUS) and kills the process;
/// read this way, a file that shrinks or is cut after it was opened gives an <see cref="InvalidDataException"/> at the
/// load that runs past its end. No file is mapped, since the engine cannot know that a file will not change underneath it.
/// Content rewritten in place (same length) is not detected; Hugging Face's writer, like this engine's, replaces files by rename.
/// </para>
/// <code>using var f = SafetensorsFile.Open(path); using var w = f.Load("lm_head.weight");</code>
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly long _dataStart;
    private bool _disposed;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    private SafetensorsFile(string path, Dictionary<string, SafetensorsTensorInfo> byName, Dictionary<string, string> metadata, SafeFileHandle handle, long dataStart)
    {
        Path = path;
        _byName = byName;
        Metadata = metadata;
        Names = [.. byName.Keys.Order(StringComparer.Ordinal)];
        _handle = handle;
        _dataStart = dataStart;
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
        // Shared with writers and deleters: this reader tolerates a file changing underneath it (see the class comment).
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            long length = RandomAccess.GetLength(handle);
            if (length < 8) throw SafetensorsHeader.Bad(path, $"file is {length} bytes, shorter than the 8-byte header length");
            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(handle, prefix, 0, path, null);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (n > (ulong)SafetensorsHeader.MaxHeaderBytes)
                throw SafetensorsHeader.Bad(path, $"header length {n} exceeds the limit of {SafetensorsHeader.MaxHeaderBytes} bytes");
            if ((long)n > length - 8) throw SafetensorsHeader.Bad(path, $"header length {n} runs past the end of the file ({length} bytes)");
            var header = new byte[n];
            ReadExactly(handle, header, 8, path, null);
            long dataStart = 8 + (long)n;
            var (tensors, metadata) = SafetensorsHeader.Parse(header, length - dataStart, path);
            var byName = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            foreach (var t in tensors) byName.Add(t.Name, t);
            return new SafetensorsFile(path, byName, metadata, handle, dataStart);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; a file that ends first (it was cut after it was opened) is an <see cref="InvalidDataException"/>.</summary>
    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string path, string? tensor)
    {
        while (!buffer.IsEmpty)
        {
            int got = RandomAccess.Read(handle, buffer, offset);
            if (got <= 0)
            {
                var what = $"the file ends at byte {offset}, before the {buffer.Length} more bytes it declared: it was truncated or replaced after it was opened";
                throw tensor == null ? SafetensorsHeader.Bad(path, what) : SafetensorsHeader.Bad(path, tensor, what);
            }
            buffer = buffer[got..];
            offset += got;
        }
    }

    /// <summary>
    /// Loads a tensor into new memory: by default as <see cref="SafetensorsTensorInfo.DType"/> (F16 becomes
    /// float32, BF16 stays bfloat16), or converted to <paramref name="as"/>; on the CPU unless a device is given.
    /// Throws <see cref="InvalidDataException"/> when the file has been cut short since it was opened.
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
            if (info.ByteLength > 0) ReadInto(info, host.Ptr<byte>(), host.Numel);
            var converted = SafetensorsDecode.Convert(host, @as ?? natural);
            if (device is not Device d || d == Device.Cpu) return converted;
            using (converted) return converted.To(d);
        }
        finally
        {
            host.Dispose();
        }
    }

    /// <summary>Reads a tensor's bytes and decodes them into <paramref name="dst"/>: stored dtypes straight in, others through a bounded buffer.</summary>
    private void ReadInto(SafetensorsTensorInfo info, byte* dst, long count)
    {
        const int Chunk = 1 << 26;
        long offset = _dataStart + info.Begin;
        int size = info.FileDType.Size();
        if (info.FileDType is SafetensorsDType.F32 or SafetensorsDType.F64 or SafetensorsDType.BF16 or SafetensorsDType.I32 or SafetensorsDType.I64)
        {
            for (long done = 0; done < info.ByteLength;)
            {
                int n = (int)Math.Min(info.ByteLength - done, Chunk);
                ReadExactly(_handle, new Span<byte>(dst + done, n), offset + done, Path, info.Name);
                done += n;
            }
            return;
        }
        var buf = new byte[(int)Math.Min(info.ByteLength, Chunk / size * size)];
        int outSize = info.DType!.Value.Size();
        fixed (byte* b = buf)
        {
            for (long first = 0; first < count;)
            {
                long elems = Math.Min(count - first, buf.Length / size);
                ReadExactly(_handle, buf.AsSpan(0, (int)(elems * size)), offset + first * size, Path, info.Name);
                SafetensorsDecode.Decode(info.FileDType, b, dst + first * outSize, elems);
                first += elems;
            }
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

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _handle.Dispose();
    }
}
