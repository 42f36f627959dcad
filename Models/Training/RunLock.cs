using System.Globalization;

namespace LightNet.Models.Training;

/// <summary>
/// An exclusive lock on a run folder, held by the process that writes it for as long as it writes it.
/// <para>
/// The lock is an operating-system lock: <c>&lt;run&gt;/.lock</c> opened with <see cref="FileShare.None"/> (an exclusive
/// <c>flock</c> on Linux and macOS, a sharing mode on Windows) and kept open. The kernel drops it when the process ends,
/// however it ends (<c>kill -9</c> included), so a lock file left behind by a dead process never blocks: there is no
/// stale lock to detect. The holder's process id is written to <c>&lt;run&gt;/.lock.pid</c> (a file beside it, since a
/// locked file cannot be read through .NET on every platform) so that a second writer's error names it:
/// "&lt;dir&gt; is in use by process N".
/// </para>
/// <para>
/// Limits: on file systems where .NET takes no advisory lock (NFS, CIFS/SMB) or with
/// <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c> set, opening never conflicts and the lock does not exclude.
/// </para>
/// </summary>
public sealed class RunLock : IDisposable
{
    /// <summary>Lock file name inside the run folder.</summary>
    public const string FileName = ".lock";

    /// <summary>File beside the lock holding the holder's process id.</summary>
    public const string PidFileName = ".lock.pid";

    private FileStream? _stream;

    private RunLock(string dir, FileStream stream)
    {
        Directory = dir;
        _stream = stream;
    }

    /// <summary>The locked run folder.</summary>
    public string Directory { get; }

    /// <summary>
    /// Takes the lock on <paramref name="runDir"/> (created when missing); throws <see cref="InvalidOperationException"/>
    /// ("&lt;dir&gt; is in use by process N") when another writer holds it.
    /// </summary>
    public static RunLock Acquire(string runDir)
    {
        System.IO.Directory.CreateDirectory(runDir);
        var path = Path.Combine(runDir, FileName);
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException and not PathTooLongException)
        {
            var holder = HolderPid(runDir);
            throw new InvalidOperationException(
                $"{runDir} is in use by {(holder is int pid ? $"process {pid}" : "another process")} (its lock {path} is held); wait for it to finish or choose another --out", e);
        }
        try
        {
            var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n";
            fs.SetLength(0);
            fs.Write(System.Text.Encoding.ASCII.GetBytes(pid));
            fs.Flush();
            File.WriteAllText(Path.Combine(runDir, PidFileName), pid);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
        return new RunLock(runDir, fs);
    }

    /// <summary>The process id recorded beside the lock, or null when none can be read.</summary>
    public static int? HolderPid(string runDir)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(runDir, PidFileName)).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Releases the lock (the files stay; they do not block the next writer).</summary>
    public void Dispose()
    {
        _stream?.Dispose();
        _stream = null;
    }
}
