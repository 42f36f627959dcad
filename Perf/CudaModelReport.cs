using LightNet.Autograd;
using LightNet.Kernels.Cuda;
using LightNet.Models.LightNet;
using LightNet.Models.Optim;

namespace LightNet.Perf;

/// <summary>
/// <c>Perf cuda-model</c>: the model-level benchmarks on one device, exact float32 and TF32 — the LightNet
/// attention layer (hidden 2048, H=16, d=128, B=4, T=4096) forward + backward, and a training step of fla's
/// 222.9 M-parameter causal LM (hidden 1024, 12 layers, expand_ratio 128, vocab 32000, B=8, T=2048) with AdamW on
/// float32 master weights. Options: <c>--device cpu</c> (smoke run), <c>--modes</c>, <c>--profile</c>, <c>--no-layer</c>, <c>--layers</c>, <c>--hidden</c>, <c>--batch</c>,
/// <c>--seq</c>, <c>--vocab</c>, <c>--steps</c>, <c>--layer-batch</c>, <c>--layer-seq</c>, <c>--layer-hidden</c>.
/// </summary>
public static class CudaModelReport
{
    /// <summary>
    /// Runs both benchmarks in each mode of <c>--modes</c> (default <c>fp32,tf32,bf16,bf16w</c>: exact float32; TF32 products;
    /// bfloat16 matrix products with TF32 attention, float32 storage; <c>bf16w</c>: bfloat16 storage of weights, activations,
    /// gradients and AdamW states, float32 arithmetic in the kernels, TF32 attention); <c>--profile</c> adds a per-kernel profile of one step,
    /// <c>--by-shape</c> the same split by argument shapes.
    /// </summary>
    public static int Run(string[] args)
    {
        string? Str(string name)
        {
            int i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }
        int Opt(string name, int dflt) => Str(name) is string v ? int.Parse(v) : dflt;
        bool cpu = Str("device") == "cpu";
        CudaBackend? be = null;
        if (!cpu)
        {
            if (!CudaBackend.TryRegister()) { Console.WriteLine("CUDA unavailable: " + CudaRuntime.UnavailableReason); return 1; }
            be = CudaBackend.For(0);
            Console.WriteLine($"{be.Info}; driver {CudaRuntime.DriverVersion}; cuBLAS {(be.CublasActive ? "active" : "absent")}");
        }
        var dev = cpu ? Device.Cpu : Device.Cuda(0);
        var modes = Str("modes")?.Split(',') ?? (cpu ? ["fp32"] : ["fp32", "tf32", "bf16", "bf16w"]);
        bool profile = args.Contains("--profile") || args.Contains("--by-shape");
        foreach (string mode in modes)
        {
            if (be != null)
            {
                be.AllowTf32 = mode is "tf32" or "bf16" or "bf16w";
                be.AllowBf16 = mode == "bf16";
            }
            else if (mode != "fp32") throw new ArgumentException($"cuda-model: mode '{mode}' needs a GPU");
            if (!args.Contains("--no-layer")) Layer(dev, be, mode, Opt("layer-hidden", 2048), Opt("layer-batch", 4), Opt("layer-seq", 4096));
            LmStep(dev, be, mode, Opt("hidden", 1024), Opt("layers", 12), Opt("vocab", 32000), Opt("batch", 8), Opt("seq", 2048), Opt("steps", 10), profile, args.Contains("--by-shape"));
        }
        return 0;
    }

    /// <summary>The storage dtype of a mode: bfloat16 for <c>bf16w</c>, else float32.</summary>
    private static DType Storage(string mode) => mode == "bf16w" ? DType.BFloat16 : DType.Float32;

    private static void Layer(Device dev, CudaBackend? be, string mode, int hidden, int batch, int seq)
    {
        using var scope = DisposalScope.Begin();
        var cfg = AttentionConfig.FromFla(hidden, null, 128, 128, causal: true);
        var layer = new LightNetAttention(cfg, new Generator(1));
        var dt = Storage(mode);
        layer.To(dev, dt);
        using var x32 = Tensor.RandN([batch, seq, hidden], new Generator(2), DType.Float32, dev);
        using var dy32 = Tensor.RandN([batch, seq, hidden], new Generator(3), DType.Float32, dev);
        var x = new Variable(x32.To(dt), requiresGrad: true);
        var dy = dy32.To(dt);
        double fwd = CudaReport.WallMs(be, () =>
        {
            using var s = DisposalScope.Begin();
            using (NoGrad.Scope()) layer.Mix(x, null, null, null);
        }, 5);
        double both = CudaReport.WallMs(be, () =>
        {
            using var s = DisposalScope.Begin();
            var (y, _) = layer.Mix(x, null, null, null);
            y.Backward(dy);
            x.Grad = null;
            foreach (var p in layer.Parameters()) p.Grad = null;
        }, 5);
        Console.WriteLine($"  LightNet attention layer hidden {hidden} H={cfg.NumHeads} d={cfg.HeadKDim} B={batch} T={seq} {mode}: " +
            $"forward {fwd:F2} ms, forward+backward {both:F2} ms");
    }

    private static void LmStep(Device dev, CudaBackend? be, string mode, int hidden, int layers, int vocab, int batch, int seq, int steps, bool profile, bool byShape)
    {
        using var scope = DisposalScope.Begin();
        var cfg = new LightNetConfig { HiddenSize = hidden, NumHiddenLayers = layers, VocabSize = vocab, ExpandRatio = 128 };
        var model = new LightNetForCausalLM(cfg, new Generator(1));
        model.To(dev, Storage(mode));
        var parameters = model.Parameters().ToList();
        long count = parameters.Sum(p => p.Data.Numel);
        var opt = new AdamW(parameters, lr: 3e-4, weightDecay: 0.01);
        var rng = new Random(4);
        var ids = Tensor.FromArray(Enumerable.Range(0, batch * seq).Select(_ => (long)rng.Next(vocab)).ToArray(), [batch, seq], dev);
        double loss = 0;
        void Step()
        {
            using var s = DisposalScope.Begin();
            var l = model.Loss(ids);
            l.Backward();
            opt.Step();
            opt.ZeroGrad();
            loss = l.Data.ToDoubleArray()[0];
        }
        double ms = CudaReport.WallMs(be, Step, steps);
        if (profile)
        {
            // One more step with a synchronisation after every kernel: per-kernel device time (the sum exceeds the step's time by the launch gaps).
            Profiler.Enable(dev, be is null ? null : be.Synchronize, byShape);
            Profiler.Reset();
            Step();
            Profiler.Disable(dev);
            var snap = Profiler.Snapshot();
            double total = snap.Sum(x => x.Seconds);
            Console.WriteLine($"  profile of one {mode} step ({total * 1e3:F1} ms of synchronised kernel time):");
            foreach (var (kernel, calls, sec) in snap.Take(byShape ? 60 : 16))
                Console.WriteLine($"    {kernel,-36} {calls,6} calls {sec * 1e3,9:F2} ms {sec / total,6:P1}");
        }
        double tokens = (double)batch * seq;
        // 6 FLOPs per parameter and token (forward 2, backward 4) for the dense part, the usual MFU count.
        double tflops = 6.0 * count * tokens / (ms * 1e-3) / 1e12;
        string mem = be != null ? $", device memory in use {be.Allocator.BytesInUse >> 20} MiB, cached {be.Allocator.BytesCached >> 20} MiB" : "";
        Console.WriteLine($"  causal LM step {count / 1e6:F1} M params (hidden {hidden}, {layers} layers, vocab {vocab}) B={batch} T={seq} {mode}, " +
            $"{(Storage(mode) == DType.BFloat16 ? "bf16 weights, AdamW on them" : "AdamW fp32 master weights")}: {ms:F1} ms/step, {tokens / (ms * 1e-3) / 1e3:F1} k tokens/s, 6N·tokens = {tflops:F1} TFLOP/s, last loss {loss:F3}{mem}");
    }
}
