using BenchmarkDotNet.Running;

namespace LightNet.Perf;

/// <summary>
/// <c>dotnet run -c Release --project Perf -- report</c> prints every kernel against the machine's measured
/// ceilings, <c>-- cuda [--attention-only]</c> the GPU kernels, <c>-- cuda-model</c> the attention layer and LM training step, <c>-- cuda-kernels</c> the memory-bound kernels on the LM's shapes; any other arguments go to BenchmarkDotNet (e.g. <c>--filter *Matmul*</c>).
/// </summary>
public static class Program
{
    /// <summary>Dispatches to the reports or to BenchmarkDotNet; returns the exit code.</summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "report") return Report.Run(args[1..]);
        if (args.Length > 0 && args[0] == "cuda") return CudaReport.Run(args[1..]);
        if (args.Length > 0 && args[0] == "cuda-model") return CudaModelReport.Run(args[1..]);
        if (args.Length > 0 && args[0] == "cuda-kernels") return CudaKernelsReport.Run(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
