using LightNet.Cli.CommandLine;

namespace LightNet.Cli.Golden;

/// <summary>
/// <c>lightnet golden FILE [--dtype float32|float64] [--device cpu|cuda]</c>: prints the per-tensor table and
/// PASS/FAIL; exit code 0 on PASS, 1 on FAIL, 2 on a usage error or a file that cannot be run.
/// </summary>
internal static class GoldenCommand
{
    /// <summary>Runs the parsed command, writing the report to <paramref name="output"/>.</summary>
    public static int Run(Args a, TextWriter output)
    {
        var path = a.Parse.GetValue<string>("file")!;
        var device = DeviceOption.Resolve(a.Command, a.String("--device"));
        GoldenReport report;
        try
        {
            report = GoldenRunner.Run(path, DTypeInfo.Parse(a.String("--dtype")), device);
        }
        catch (FileNotFoundException e) { throw new IOException($"golden: {e.Message}", e); }
        report.Write(output);
        return report.Passed ? 0 : 1;
    }
}
