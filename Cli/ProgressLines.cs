using System.Diagnostics;

namespace LightNet.Cli;

/// <summary>
/// Progress for output that is not a terminal (a log file, CI): one line when a tenth of the work is done or a minute
/// has passed since the last line, and at the end, each with the elapsed time.
/// </summary>
internal sealed class ProgressLines(long total, TextWriter? output = null)
{
    private readonly TextWriter _out = output ?? Console.Out;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastDone;
    private TimeSpan _lastTime;

    /// <summary>Prints <paramref name="text"/> when <paramref name="done"/> crossed the next tenth, a minute passed, or the work is complete.</summary>
    public void Report(long done, string text)
    {
        var now = _clock.Elapsed;
        bool tenth = done * 10 / Math.Max(1, total) > _lastDone * 10 / Math.Max(1, total);
        if (!(tenth || done >= total || now - _lastTime >= TimeSpan.FromMinutes(1))) return;
        _lastDone = done;
        _lastTime = now;
        _out.WriteLine($"{text} [{Format(now)} elapsed]");
        _out.Flush();
    }

    /// <summary>Reports <paramref name="done"/> of the total with a rate-based ETA.</summary>
    public void Report(long done, string what, string unit)
    {
        var s = _clock.Elapsed.TotalSeconds;
        var eta = done > 0 ? TimeSpan.FromSeconds(s / done * (total - done)) : TimeSpan.Zero;
        Report(done, $"{what}: {done}/{total} {unit} ({100.0 * done / Math.Max(1, total):F0} %), eta {Format(eta)}");
    }

    /// <summary><c>h:mm:ss</c> or <c>m:ss</c>.</summary>
    public static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes}:{t.Seconds:D2}";
}
