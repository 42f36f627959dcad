using LightNet.Kernels.Cuda;

namespace LightNet.Perf;

/// <summary>
/// <c>Perf cuda-kernels</c>: the memory-bound kernels of one training step of the 222.9 M-parameter LM (B=8, T=2048, hidden 1024,
/// MLP 2816, 12 layers) on its shapes, float32 and bfloat16, timed with CUDA events (median of 20 after a warm-up), with
/// GB/s = the bytes the op must move at least (every input read once, every output written once) / time.
/// </summary>
public static class CudaKernelsReport
{
    private const int Rows = 8 * 2048, Hidden = 1024, Mlp = 2816;

    /// <summary>Prints the report; returns 1 when CUDA is unavailable, else 0.</summary>
    public static int Run(string[] args)
    {
        if (!CudaBackend.TryRegister()) { Console.WriteLine("CUDA unavailable: " + CudaRuntime.UnavailableReason); return 1; }
        var dev = Device.Cuda(0);
        var be = CudaBackend.For(0);
        Console.WriteLine($"{be.Info}; driver {CudaRuntime.DriverVersion}; PTX of norm/unary/strided/optim: {KernelSources.Origin("norm")}");
        Console.WriteLine($"  {"op",-44} {"dtype",-9} {"ms",9} {"GB/s",8}");
        foreach (var dt in new[] { DType.Float32, DType.BFloat16 })
        {
            using var scope = DisposalScope.Begin();
            int e = dt.Size();
            long h = (long)Rows * Hidden, m = (long)Rows * Mlp;
            Tensor Make(int[] shape, ulong seed) => Tensor.RandN(shape, new Generator(seed), DType.Float32, dev).To(dt);
            var x = Make([Rows, Hidden], 1);
            var u = Make([Rows, Hidden], 2);
            var dy = Make([Rows, Hidden], 3);
            var w = Make([Hidden], 4);
            var (y, rstd) = Tensor.RmsNorm(x, w, 1e-6);
            Row("rms_norm [16384×1024]", dt, 2 * h * e, () => Dispose(Tensor.RmsNorm(x, w, 1e-6)));
            Row("rms_norm backward (x, dy → dx, dw)", dt, 3 * h * e, () => Dispose(Tensor.RmsNormBackward(x, w, rstd, dy)));
            Row("rms_norm_gate [16384×1024]", dt, 3 * h * e, () => Dispose(Tensor.RmsNormGate(x, w, u, 1e-6)));
            Row("rms_norm_gate backward (x, u, dy → dx, du, dw)", dt, 5 * h * e, () =>
            {
                var (a, b, c) = Tensor.RmsNormGateBackward(x, w, u, rstd, dy);
                a.Dispose(); b.Dispose(); c.Dispose();
            });
            var s = x.Silu();
            Row("silu [16384×1024]", dt, 2 * h * e, () => x.Silu().Dispose());
            Row("silu backward (x, y, dy → dx)", dt, 4 * h * e, () => x.ApplyBackward(UnaryOp.Silu, s, dy).Dispose());
            var ga = Make([Rows, Mlp], 5);
            var up = Make([Rows, Mlp], 6);
            var dm = Make([Rows, Mlp], 7);
            Row("swiglu [16384×2816]", dt, 3 * m * e, () => Tensor.SwiGlu(ga, up).Dispose());
            Row("swiglu backward (a, b, dy → da, db)", dt, 5 * m * e, () => Dispose(Tensor.SwiGluBackward(ga, up, dm)));
            var x3 = x.View(8, 2048, Hidden);
            var u3 = u.View(8, 2048, Hidden);
            Row("add [8×2048×1024]", dt, 3 * h * e, () => (x3 + u3).Dispose());
            var other = dt == DType.Float32 ? DType.BFloat16 : DType.Float32;
            Row($"copy → {other.Name()} [16384×1024]", dt, h * (e + other.Size()), () => x.To(other).Dispose());
            using var big = Make([1 << 26], 8);
            Row("copy → float64 [64 Mi]", dt, (1L << 26) * (e + 8), () => big.To(DType.Float64).Dispose());
            AdamW(dt, dev);
            y.Dispose(); rstd.Dispose(); s.Dispose();
        }
        return 0;
    }

    /// <summary>
    /// AdamW over an LM-like parameter list (per layer 4 × [1024, 1024], 3 × [2816, 1024], 5 × [1024]; 12 layers, an
    /// embedding [32000, 1024] and a final [1024]: 146 tensors, 187 M values), one call per tensor as the optimizer does.
    /// </summary>
    private static void AdamW(DType dt, Device dev)
    {
        var shapes = new List<int[]> { new[] { 32000, Hidden }, new[] { Hidden } };
        for (int l = 0; l < 12; l++)
        {
            for (int i = 0; i < 4; i++) shapes.Add([Hidden, Hidden]);
            for (int i = 0; i < 3; i++) shapes.Add([Mlp, Hidden]);
            for (int i = 0; i < 5; i++) shapes.Add([Hidden]);
        }
        var t = shapes.Select((s, i) => Enumerable.Range(0, 4).Select(k => Tensor.RandN(s, new Generator((ulong)(4 * i + k)), DType.Float32, dev).Abs().To(dt)).ToArray()).ToArray();
        long n = t.Sum(p => p[0].Numel);
        var step = new AdamWStep(1e-4, 0.9, 0.95, 1e-8, 0.1, 1);
        Row($"adamw {shapes.Count} tensors, {n / 1e6:F1} M values", dt, 7 * n * dt.Size(), () =>
        {
            foreach (var p in t) Optimizers.AdamW(p[0], p[1], p[2], p[3], step);
        });
        foreach (var p in t) foreach (var q in p) q.Dispose();
    }

    private static void Dispose((Tensor A, Tensor? B) r)
    {
        r.A.Dispose();
        r.B?.Dispose();
    }

    private static void Row(string what, DType dt, long bytes, Action a)
    {
        double ms = CudaReport.TimeMs(a, 20);
        Console.WriteLine($"  {what,-44} {dt.Name(),-9} {ms,9:F3} {bytes / (ms * 1e-3) / 1e9,8:F0}");
    }
}
