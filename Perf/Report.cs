namespace LightNet.Perf;

/// <summary>Quick ceilings-and-kernels report (median of repeated timings).</summary>
public static class Report
{
    public static int Run(string[] args)
    {
        Console.WriteLine("report: not yet implemented");
        return 0;
    }
}
