using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LightNet;

/// <summary>Writes safetensors files the way Hugging Face does, deterministically and atomically.</summary>
internal static unsafe class SafetensorsWriter
{
    private static readonly JsonWriterOptions JsonOptions = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes <paramref name="tensors"/> (sorted by name) and <paramref name="metadata"/> to <paramref name="path"/>.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        foreach (var n in names)
        {
            if (n == SafetensorsHeader.MetadataKey) throw new ArgumentException($"safetensors save '{path}': '{n}' is reserved and cannot name a tensor", nameof(tensors));
            if (tensors[n] is null) throw new ArgumentException($"safetensors save '{path}': tensor '{n}' is null", nameof(tensors));
        }
        var header = BuildHeader(names, tensors, metadata);
        var full = System.IO.Path.GetFullPath(path);
        var tmp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(full)!, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                Span<byte> prefix = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
                fs.Write(prefix);
                global::LightNet.IO.FaultInjection.Write(fs, header, full);
                foreach (var n in names) WriteData(fs, tensors[n]);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>The compact JSON header, padded with spaces to a multiple of 8 bytes.</summary>
    private static byte[] BuildHeader(string[] names, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var buf = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buf, JsonOptions))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (var k in metadata.Keys.Order(StringComparer.Ordinal)) w.WriteString(k, metadata[k]);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var n in names)
            {
                var t = tensors[n];
                long bytes = t.Numel * t.DType.Size();
                w.WriteStartObject(n);
                w.WriteString("dtype", SafetensorsDTypeInfo.FromEngine(t.DType).FileName());
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        int len = buf.WrittenCount, padded = (len + 7) / 8 * 8;
        var header = new byte[padded];
        buf.WrittenSpan.CopyTo(header);
        header.AsSpan(len).Fill((byte)' ');
        return header;
    }

    private static void WriteData(FileStream fs, Tensor t)
    {
        if (t.Numel == 0) return;
        using var host = t.Device == Device.Cpu ? t.Contiguous() : t.To(Device.Cpu);
        byte* p = host.Ptr<byte>();
        long remaining = host.Numel * host.DType.Size();
        while (remaining > 0)
        {
            int n = (int)Math.Min(remaining, 1 << 30);
            fs.Write(new ReadOnlySpan<byte>(p, n));
            p += n;
            remaining -= n;
        }
    }
}
