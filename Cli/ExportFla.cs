using LightNet.Cli.CommandLine;
using LightNet.Models;

namespace LightNet.Cli;

/// <summary><c>lightnet export fla --run DIR --out DIR</c>: a causal LM run as a checkpoint fla loads and computes the same way.</summary>
internal static class ExportFla
{
    public static int Run(Args a)
    {
        var dir = RunDirs.Require(a, "lm");
        var outDir = a.OptString("--out")!;
        Checkpoint.ExportFla(dir, outDir, a.String("--weights"));
        Console.WriteLine($"fla checkpoint: {Path.Combine(outDir, "config.json")}, {Path.Combine(outDir, "model.safetensors")} (model_type lightnet, F32)");
        return 0;
    }
}
