using System.Diagnostics;

namespace LightNet.Perf;

/// <summary>Per-kernel CPU time of a repeated step through the engine's <see cref="Profiler"/>: the table behind the reports' <c>--profile</c>.</summary>
public static class KernelProfile
{
    /// <summary>
    /// Runs <paramref name="step"/> once to warm up, then <paramref name="steps"/> times profiled; prints the <paramref name="top"/>
    /// kernels by time (each shape of their operands apart with <paramref name="byShape"/>).
    /// </summary>
    public static void Print(string title, Action step, int steps = 3, int top = 12, bool byShape = false)
    {
        step();
        Profiler.Enable(Device.Cpu, byShape: byShape);
        Profiler.Reset();
        var sw = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++) step();
        double stepMs = sw.Elapsed.TotalMilliseconds / steps;
        Profiler.Disable(Device.Cpu);
        var rows = Profiler.Snapshot();
        double total = rows.Sum(r => r.Seconds);
        Console.WriteLine();
        Console.WriteLine($"profile {title}: {stepMs:F1} ms per step, kernels {total * 1e3 / steps:F1} ms");
        int width = Math.Max(36, rows.Take(top).Select(r => r.Kernel.Length).DefaultIfEmpty(0).Max());
        Console.WriteLine($"{"kernel".PadRight(width)} {"calls/step",10} {"ms/step",9} {"share",6}");
        foreach (var (k, calls, s) in rows.Take(top))
            Console.WriteLine($"{k.PadRight(width)} {calls / (double)steps,10:F0} {s * 1e3 / steps,9:F1} {s / total,6:P0}");
    }
}
