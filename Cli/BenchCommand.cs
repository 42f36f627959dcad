using System.Diagnostics;
using LightNet.Autograd;
using LightNet.Cli.CommandLine;
using LightNet.Models.LightNet;
using LightNet.Models.Nn;
using LightNet.Models.Optim;

namespace LightNet.Cli;

/// <summary>
/// <c>lightnet bench [lm|classifier|fmnist] [--steps N] [--device cpu|cuda]</c>: training-step throughput of fixed
/// reference configurations (a byte-level causal LM, image classifiers) with a per-kernel time profile.
/// </summary>
internal static class BenchCommand
{
    public static int Run(Args a, string what)
    {
        int steps = a.Int("--steps");
        var device = DeviceOption.Resolve(a.Command, a.String("--device"));
        Module model;
        Func<Variable> loss;
        long itemsPerStep;
        string unit;
        var gen = new Generator(1);
        switch (what)
        {
            case "lm":
                {
                    var cfg = new LightNetConfig { VocabSize = 256, HiddenSize = 512, NumHiddenLayers = 8, ExpandRatio = 64, GateLowRankDim = 128 };
                    var lm = new LightNetForCausalLM(cfg, gen);
                    lm.To(device);
                    using var r = Tensor.Rand([4, 1024], gen, DType.Float64);
                    var ids = Tensor.FromArray(r.ToDoubleArray().Select(x => (long)(x * 256)).ToArray(), [4, 1024]).To(device);
                    model = lm; loss = () => lm.Loss(ids); itemsPerStep = 4 * 1024; unit = "tokens";
                    Console.WriteLine($"causal LM: hidden 512, 8 layers, H=8, d=64, gate rank 128, byte vocabulary, B=4, T=1024 ({lm.ParameterCount / 1e6:F1} M parameters)");
                    break;
                }
            case "classifier":
                {
                    var cfg = new ImageClassifierConfig { InChannels = 3, ImageHeight = 32, ImageWidth = 32, PatchSize = 4, HiddenSize = 192, NumHiddenLayers = 12, NumHeads = 3, GateLowRankDim = 32, NumClasses = 10 };
                    var cls = new LightNetForImageClassification(cfg, gen);
                    cls.To(device);
                    var x = new Variable(Tensor.Rand([32, 3, 32, 32], gen).To(device));
                    var y = Tensor.FromArray(Enumerable.Range(0, 32).Select(i => (long)(i % 10)).ToArray()).To(device);
                    model = cls; loss = () => cls.Loss(x, y); itemsPerStep = 32; unit = "images";
                    Console.WriteLine($"image classifier: 32×32×3, patch 4, hidden 192, 12 layers, batch 32 ({cls.ParameterCount / 1e6:F1} M parameters)");
                    break;
                }
            case "fmnist":
                {
                    var cfg = new ImageClassifierConfig { InChannels = 1, ImageHeight = 28, ImageWidth = 28, PatchSize = 4, HiddenSize = 64, NumHiddenLayers = 4, NumHeads = 2, GateLowRankDim = 16, NumClasses = 10, TpeRpeDim = 16 };
                    var cls = new LightNetForImageClassification(cfg, gen);
                    cls.To(device);
                    var x = new Variable(Tensor.Rand([64, 1, 28, 28], gen).To(device));
                    var y = Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (long)(i % 10)).ToArray()).To(device);
                    model = cls; loss = () => cls.Loss(x, y); itemsPerStep = 64; unit = "images";
                    Console.WriteLine($"image classifier (the train classify default): 28×28×1, patch 4, hidden 64, 4 layers, batch 64 ({cls.ParameterCount / 1e6:F2} M parameters)");
                    break;
                }
            default: throw new ArgumentException($"bench: unknown workload '{what}' (lm, classifier, fmnist)");
        }
        var opt = new AdamW(model.Parameters(), 1e-4);
        void Step()
        {
            using var s = DisposalScope.Begin();
            loss().Backward();
            opt.Step();
            opt.ZeroGrad();
        }
        Step();
        Profiler.Enable(device);
        Profiler.Reset();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) Step();
        double sec = sw.Elapsed.TotalSeconds / steps;
        Profiler.Disable(device);
        Console.WriteLine($"training step (forward + backward + AdamW): {sec * 1e3:F0} ms, {itemsPerStep / sec:F0} {unit}/s, threads {Parallelism.Threads}");
        var rows = Profiler.Snapshot();
        double total = rows.Sum(r => r.Seconds);
        Console.WriteLine($"{"kernel",-32} {"calls/step",10} {"ms/step",9} {"share",6}");
        foreach (var (k, calls, s) in rows.Take(20))
            Console.WriteLine($"{k,-32} {calls / (double)steps,10:F0} {s * 1e3 / steps,9:F1} {s / total,6:P0}");
        Console.WriteLine($"{"(kernels total)",-32} {"",10} {total * 1e3 / steps,9:F1}   (the rest of the step is graph bookkeeping and allocation)");
        return 0;
    }
}
