namespace LightNet.Cli.Golden;

/// <summary>
/// <c>lightnet golden FILE [--dtype float32|float64] [--device cpu|cuda]</c>: prints the per-tensor table and
/// PASS/FAIL; exit code 0 on PASS, 1 on FAIL, 2 on a usage error or a file that cannot be run.
/// </summary>
public static class GoldenCommand
{
    /// <summary>One-line usage.</summary>
    public const string Usage = "usage: lightnet golden <file.safetensors> [--dtype float32|float64] [--device cpu|cuda]";

    /// <summary>Runs the command with its arguments (after <c>golden</c>), writing the report and errors to the given writers.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        string? path = null;
        var dtype = DType.Float32;
        var device = Device.Cpu;
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--dtype":
                        dtype = DTypeInfo.Parse(Value(args, ref i));
                        if (dtype is not (DType.Float32 or DType.Float64)) throw new ArgumentException($"--dtype must be float32 or float64, got '{args[i]}'");
                        break;
                    case "--device": device = Device.Parse(Value(args, ref i)); break;
                    case var a when a.StartsWith('-'): throw new ArgumentException($"unknown option '{a}'");
                    default:
                        if (path != null) throw new ArgumentException($"more than one file given ('{path}', '{args[i]}')");
                        path = args[i];
                        break;
                }
            }
            if (path == null) throw new ArgumentException("no golden file given");
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"lightnet golden: {e.Message}");
            error.WriteLine(Usage);
            return 2;
        }
        try
        {
            device = DeviceOption.Resolve("golden", device.ToString());
            var report = GoldenRunner.Run(path, dtype, device);
            report.Write(output);
            return report.Passed ? 0 : 1;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or InvalidOperationException or NotSupportedException
            or KeyNotFoundException or UnauthorizedAccessException)
        {
            error.WriteLine($"lightnet golden: {e.Message}");
            return 2;
        }
    }

    private static string Value(string[] args, ref int i) =>
        i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option '{args[i]}' needs a value");
}
