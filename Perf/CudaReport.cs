using LightNet.Kernels.Cuda;

namespace LightNet.Perf;

/// <summary>
/// <c>Perf cuda</c>: GPU kernels timed with CUDA events against the device's ceilings (peak DRAM
/// bandwidth from its clocks, and the measured device-to-device copy rate), plus float32 matrix products
/// through cuBLAS (plain and TF32) and the own fallback kernel.
/// </summary>
public static class CudaReport
{
    /// <summary>Prints the GPU report; returns 1 when CUDA is unavailable, else 0.</summary>
    public static int Run(string[] args)
    {
        if (!CudaBackend.TryRegister()) { Console.WriteLine("CUDA unavailable: " + CudaRuntime.UnavailableReason); return 1; }
        var dev = Device.Cuda(0);
        var be = CudaBackend.For(0);
        Console.WriteLine($"{be.Info}; driver {CudaRuntime.DriverVersion}; cuBLAS {(be.CublasActive ? "active" : "absent")}");
        using var scope = DisposalScope.Begin();
        if (args.Contains("--attention-only")) { AttentionReport(be, dev, 3900); return 0; }
        long n = 1L << 26; // 64 Mi floats = 256 MiB
        var x = Tensor.RandN([(int)(n >> 13), 8192], new Generator(1), DType.Float32, dev);
        var y = Tensor.RandN([(int)(n >> 13), 8192], new Generator(2), DType.Float32, dev);
        double copy = Bandwidth("copy d2d (clone)", 2 * n * 4, () => x.Clone().Dispose());
        Bandwidth("add (a + b)", 3 * n * 4, () => (x + y).Dispose());
        Bandwidth("silu", 2 * n * 4, () => x.Silu().Dispose());
        Bandwidth("softmax rows of 8192", 2 * n * 4, () => x.Softmax().Dispose());
        Bandwidth("sum rows of 8192", n * 4, () => x.Sum(1).Dispose());
        Bandwidth("rms_norm rows of 8192", 2 * n * 4, () => { var (a, b) = Tensor.RmsNorm(x, null, 1e-6); a.Dispose(); b.Dispose(); });
        using var xt = x.Transpose();
        Bandwidth("transpose copy (8192 × 8192)", 2 * n * 4, () => xt.Contiguous().Dispose());
        Console.WriteLine($"  (device-to-device copy ceiling measured: {copy:F0} GB/s; spec peak {be.Info.PeakBandwidthGBs:F0} GB/s)");
        HostCopies(be, dev, n);
        foreach (int s in new[] { 1024, 4096 })
        {
            var a = Tensor.RandN([s, s], new Generator(3), DType.Float32, dev);
            var b = Tensor.RandN([s, s], new Generator(4), DType.Float32, dev);
            double flop = 2.0 * s * s * s;
            if (be.CublasActive)
            {
                Flops($"sgemm {s}³ cuBLAS fp32", flop, () => Tensor.Matmul(a, b).Dispose());
                be.AllowTf32 = true;
                Flops($"sgemm {s}³ cuBLAS tf32", flop, () => Tensor.Matmul(a, b).Dispose());
                be.AllowTf32 = false;
            }
            be.UseCublas = false;
            Flops($"sgemm {s}³ own tiled kernel", flop, () => Tensor.Matmul(a, b).Dispose());
            be.AllowTf32 = true;
            Flops($"sgemm {s}³ own tensor-core kernel tf32", flop, () => Tensor.Matmul(a, b).Dispose());
            be.AllowTf32 = false;
            using (var a16 = a.To(DType.BFloat16))
            using (var b16 = b.To(DType.BFloat16))
            {
                Flops($"gemm {s}³ bf16 storage, own tensor-core kernel", flop, () => Tensor.Matmul(a16, b16).Dispose());
                be.UseCublas = true;
                if (be.CublasActive) Flops($"gemm {s}³ bf16 storage, cuBLAS", flop, () => Tensor.Matmul(a16, b16).Dispose());
            }
            be.UseCublas = true;
        }
        AttentionReport(be, dev, copy);
        Console.WriteLine($"  allocator: {be.Allocator.BytesInUse >> 20} MiB in use, {be.Allocator.BytesCached >> 20} MiB cached, {be.Allocator.DriverAllocations} cuMemAlloc calls");
        return 0;
    }

    /// <summary>
    /// The benchmark's attention shape: B=8, H=16, T=4096, d=e=128, causal additive attention (prep, chunked gated kernels),
    /// forward and forward+backward, exact float32, TF32 (recomputing or keeping the forward's state) and bfloat16 inputs, with the rate of the chunked algorithm's matrix work and the
    /// time floor of moving the inputs and outputs once at the measured copy rate.
    /// </summary>
    private static void AttentionReport(CudaBackend be, Device dev, double copyGBs)
    {
        const int B = 8, H = 16, T = 4096, d = 128, e = 128, C = 64;
        using var scope = DisposalScope.Begin();
        var q = Tensor.RandN([B, H, T, d], new Generator(5), DType.Float32, dev);
        var k = Tensor.RandN([B, H, T, d], new Generator(6), DType.Float32, dev);
        var v = Tensor.RandN([B, H, T, e], new Generator(7), DType.Float32, dev);
        double tokens = (double)B * H * T;
        // Chunked matrix work per token: scores 2Cd, A·V 2Ce, inter-chunk output 2de, state update 2de.
        double fwdFlop = tokens * (2.0 * C * d + 2.0 * C * e + 4.0 * d * e);
        // Backward: the state recompute and the gradient scan (4de), scores and dA (2Cd + 2Ce), dv (2Ce + 2de), dq and dk̄ (4Cd + 4de).
        double bwdFlop = tokens * (6.0 * C * d + 4.0 * C * e + 10.0 * d * e);
        double fwdBytes = tokens * (3 * d + e) * 4.0, bothBytes = fwdBytes + tokens * (2 * d + 2 * e + 2 * d + e) * 4.0;
        using var q16 = q.To(DType.BFloat16);
        using var k16 = k.To(DType.BFloat16);
        using var v16 = v.To(DType.BFloat16);
        // fp32 / tf32 recompute the forward's k̄, decays and chunk states in the backward; "saved" keeps them (as the autograd op
        // does); bf16 takes bfloat16 q, k, v (read and written as bfloat16 by the TF32 kernels) and keeps the forward's state.
        foreach (string mode in new[] { "fp32", "tf32", "tf32 saved", "bf16 saved" })
        {
            be.AllowTf32 = mode != "fp32";
            bool keep = mode.EndsWith("saved", StringComparison.Ordinal);
            var (qq, kk, vv) = mode.StartsWith("bf16", StringComparison.Ordinal) ? (q16, k16, v16) : (q, k, v);
            double fwd = TimeMs(() => { var (o, st, z) = AdditiveAttention.CausalForward(qq, kk, vv, 0.088); o.Dispose(); st.Dispose(); z.Dispose(); }, 5);
            double both = TimeMs(() =>
            {
                using var saved = keep ? new AttentionSaved() : null;
                var (o, st, z) = AdditiveAttention.CausalForward(qq, kk, vv, 0.088, save: saved);
                var r = AdditiveAttention.CausalBackward(qq, kk, vv, 0.088, null, null, o, saved: saved);
                o.Dispose(); st.Dispose(); z.Dispose(); r.Dq.Dispose(); r.Dk.Dispose(); r.Dv.Dispose();
            }, 5);
            Console.WriteLine($"  additive attention B8 H16 T4096 d=e=128 {mode}: forward {fwd:F2} ms ({fwdFlop / (fwd * 1e-3) / 1e12:F1} TFLOP/s, " +
                $"floor {fwdBytes / (copyGBs * 1e9) * 1e3:F2} ms), forward+backward {both:F2} ms ({(fwdFlop + bwdFlop) / (both * 1e-3) / 1e12:F1} TFLOP/s, " +
                $"floor {bothBytes / (copyGBs * 1e9) * 1e3:F2} ms)");
        }
        be.AllowTf32 = false;
        var kb = k.Sigmoid();
        foreach (double decay in new[] { 0.1, 1.0 })
        {
            // log σ(k)·0.1 keeps every chunk in the factored form; log σ(k) forces the pairwise form (|G| > 40 inside a chunk).
            var g = k.Sigmoid().Log() * decay;
            double gf = TimeMs(() => { var (o, st) = GatedAttention.Forward(q, kb, v, g, 0.088); o.Dispose(); st.Dispose(); }, 5);
            var (o1, _) = GatedAttention.Forward(q, kb, v, g, 0.088);
            double gb = TimeMs(() => { var r = GatedAttention.Backward(q, kb, v, g, 0.088, null, o1, null); r.Dq.Dispose(); r.Dkbar.Dispose(); r.Dv.Dispose(); r.Dg.Dispose(); }, 5);
            Console.WriteLine($"  gated attention alone fp32, decays {decay} log σ ({(decay < 1 ? "factored" : "pairwise")} chunks): forward {gf:F2} ms, backward {gb:F2} ms");
        }
    }

    /// <summary>Host→device rate of a 256 MiB pageable host tensor, direct and through the pinned staging buffers, and the device→host rate.</summary>
    private static void HostCopies(CudaBackend be, Device dev, long n)
    {
        using var host = Tensor.RandN([(int)n], new Generator(9));
        using var gpu = host.To(dev);
        bool saved = be.UsePinnedStaging;
        foreach (bool staged in new[] { false, true })
        {
            be.UsePinnedStaging = staged;
            string how = staged ? "pinned staging" : "pageable direct";
            double up = WallMs(be, () => be.CopyFromHost(host, gpu));
            Console.WriteLine($"  copy host→device 256 MiB, {how,-15} {up,9:F2} ms  {n * 4 / (up * 1e-3) / 1e9,8:F1} GB/s");
        }
        double down = WallMs(be, () => be.CopyToHost(gpu, host));
        Console.WriteLine($"  copy device→host 256 MiB, pageable direct {down,9:F2} ms  {n * 4 / (down * 1e-3) / 1e9,8:F1} GB/s");
        be.UsePinnedStaging = saved;
    }

    /// <summary>Median wall milliseconds of <paramref name="reps"/> runs after one warm-up, each ended by a device synchronisation (none on the CPU).</summary>
    internal static double WallMs(CudaBackend? be, Action a, int reps = 5)
    {
        a();
        be?.Synchronize();
        var t = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            a();
            be?.Synchronize();
            t[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(t);
        return t[reps / 2];
    }

    /// <summary>Median milliseconds of <paramref name="reps"/> runs timed with CUDA events (after one warm-up).</summary>
    public static double TimeMs(Action a, int reps = 10)
    {
        a();
        using var start = new CudaEvent();
        using var end = new CudaEvent();
        var t = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            start.Record();
            a();
            end.Record();
            t[i] = CudaEvent.ElapsedMilliseconds(start, end);
        }
        Array.Sort(t);
        return t[reps / 2];
    }

    private static double Bandwidth(string what, long bytes, Action a)
    {
        double ms = TimeMs(a);
        double gbs = bytes / (ms * 1e-3) / 1e9;
        Console.WriteLine($"  {what,-32} {ms,9:F3} ms  {gbs,8:F0} GB/s");
        return gbs;
    }

    private static void Flops(string what, double flop, Action a)
    {
        double ms = TimeMs(a, 5);
        Console.WriteLine($"  {what,-32} {ms,9:F3} ms  {flop / (ms * 1e-3) / 1e12,8:F1} TFLOP/s");
    }
}
