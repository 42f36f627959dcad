using LightNet.Cli;
using LightNet.Models.Training;

namespace LightNet.Tests;

/// <summary>Runs the <c>lightnet</c> command in process with the console captured, and reads a run's metrics back.</summary>
internal static class CliHarness
{
    /// <summary>Exit code, standard output and standard error of <c>lightnet ARGS</c>.</summary>
    public static (int Rc, string Out, string Err) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var o = new StringWriter(); // not disposed: Spectre.Console keeps the first writer it saw
        var e = new StringWriter();
        Console.SetOut(o);
        Console.SetError(e);
        try { return (Program.Main(args), o.ToString(), e.ToString()); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
    }

    /// <summary>The last value of <paramref name="key"/> in the run's metrics.jsonl.</summary>
    public static double FinalMetric(string dir, string key) =>
        new MetricsLog(dir).Read().Last(r => r.ContainsKey(key))[key].GetDouble();
}
