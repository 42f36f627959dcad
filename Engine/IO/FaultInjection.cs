namespace LightNet.IO;

/// <summary>
/// Test seam for I/O faults: every file a training run writes (safetensors files, <c>progress.json</c>,
/// <c>config.json</c>, <c>metrics.jsonl</c> appends) goes through <see cref="Write"/>, which a test can make fail like
/// a full disk (half the bytes written, then an <see cref="IOException"/>). The hook is an <see cref="AsyncLocal{T}"/>,
/// so it affects only the flow that installed it (tests running beside it write normally). Without a hook it is a
/// plain <see cref="Stream.Write(ReadOnlySpan{byte})"/>.
/// </summary>
internal static class FaultInjection
{
    private static readonly AsyncLocal<Func<string, bool>?> Hook = new();

    /// <summary>
    /// Installs <paramref name="shouldFail"/> for the calling flow until the returned scope is disposed: each write point
    /// calls it once with the path of the file it is about to write (the final name, not a temporary one); true makes that write fail.
    /// </summary>
    internal static IDisposable Install(Func<string, bool> shouldFail)
    {
        var previous = Hook.Value;
        Hook.Value = shouldFail;
        return new Scope(previous);
    }

    /// <summary>Writes <paramref name="data"/> to <paramref name="stream"/>; under a hook that fails this write, writes the first half, flushes it and throws "no space left".</summary>
    internal static void Write(Stream stream, ReadOnlySpan<byte> data, string path)
    {
        if (Hook.Value is { } h && h(path))
        {
            stream.Write(data[..(data.Length / 2)]);
            stream.Flush();
            throw new IOException($"No space left on device: '{path}' (injected fault)");
        }
        stream.Write(data);
    }

    private sealed class Scope(Func<string, bool>? previous) : IDisposable
    {
        public void Dispose() => Hook.Value = previous;
    }
}

/// <summary>Small durable-write helpers: whole files replaced atomically (temporary file in the same folder, flushed, renamed over the target).</summary>
internal static class DurableFile
{
    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="bytes"/>: written to <c>&lt;path&gt;.tmp</c>, flushed to disk,
    /// then renamed over the target, so a crash or full disk leaves either the old file or the new one, never a torn one.
    /// </summary>
    internal static void WriteAtomic(string path, ReadOnlySpan<byte> bytes)
    {
        var tmp = path + ".tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                FaultInjection.Write(fs, bytes, path);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary><see cref="WriteAtomic(string, ReadOnlySpan{byte})"/> of UTF-8 text without a byte-order mark.</summary>
    internal static void WriteAtomic(string path, string text) => WriteAtomic(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>Appends <paramref name="bytes"/> to <paramref name="path"/> (created when missing) in one write.</summary>
    internal static void Append(string path, ReadOnlySpan<byte> bytes)
    {
        using var fs = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        FaultInjection.Write(fs, bytes, path);
    }
}
