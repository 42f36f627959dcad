using LightNet.Autograd;

namespace LightNet.Perf;

/// <summary>Additive attention throughput against the FMA peak, and its scaling in T next to softmax attention.</summary>
public static class AttentionReport
{
    /// <summary>FLOPs of the chunked forward: B·H·(2·T·C·(d+e) + 4·T·d·e).</summary>
    public static double Flops(int B, int H, int T, int d, int e, int C) => (double)B * H * (2.0 * T * C * (d + e) + 4.0 * T * d * e);

    /// <summary>Prints additive attention's throughput at T = 2048 and 8192 against <paramref name="peak"/> (GFLOP/s), the MD-LRPE fusion comparison, then the scaling in T next to softmax attention.</summary>
    public static void Run(double peak)
    {
        const int B = 4, H = 8, d = 64, e = 64, C = 64;
        foreach (int T in new[] { 2048, 8192 })
        {
            using var scope = DisposalScope.Begin();
            var gen = new Generator(1);
            var q = Tensor.RandN([B, H, T, d], gen);
            var k = Tensor.RandN([B, H, T, d], gen);
            var v = Tensor.RandN([B, H, T, e], gen);
            var kb = k.Sigmoid();
            var g = k.Sigmoid().Log();
            double flops = Flops(B, H, T, d, e, C);
            double sk = Report.Time(() => { var (o, st) = GatedAttention.Forward(q, kb, v, g, 0.125, null, C); o.Dispose(); st.Dispose(); }, 3);
            double sa = Report.Time(() =>
            {
                using var s = DisposalScope.Begin();
                using var ng = NoGrad.Scope();
                AttentionOps.AdditiveCausal(new Variable(q), new Variable(k), new Variable(v), 0.125, chunk: C);
            }, 3);
            var dO = Tensor.RandN([B, H, T, e], gen);
            double sb = Report.Time(() =>
            {
                var r = GatedAttention.Backward(q, kb, v, g, 0.125, null, dO, null, C);
                r.Dq.Dispose(); r.Dkbar.Dispose(); r.Dv.Dispose(); r.Dg.Dispose();
            }, 3);
            Console.WriteLine($"attention B={B} H={H} T={T} d=e={d} C={C}: gated kernel fwd {sk * 1e3:F1} ms = {flops / sk / 1e9:F1} GFLOP/s ({flops / sk / 1e9 / peak:P0} of peak); " +
                $"full additive causal fwd {sa * 1e3:F1} ms ({flops / sa / 1e9:F1} GFLOP/s, {flops / sa / 1e9 / peak:P0}); gated kernel bwd {sb * 1e3:F1} ms");
        }
        LrpeFusion();
        Console.WriteLine("scaling in T (B=1, H=8, d=e=64): additive causal forward vs softmax attention (engine matmul + softmax, per head):");
        foreach (int T in new[] { 512, 1024, 2048, 4096, 8192, 16384 })
        {
            using var scope = DisposalScope.Begin();
            var gen = new Generator(2);
            var q = Tensor.RandN([1, 8, T, d], gen);
            var k = Tensor.RandN([1, 8, T, d], gen);
            var v = Tensor.RandN([1, 8, T, e], gen);
            double sa = Report.Time(() =>
            {
                using var s = DisposalScope.Begin();
                using var ng = NoGrad.Scope();
                AttentionOps.AdditiveCausal(new Variable(q), new Variable(k), new Variable(v), 0.125);
            }, 3);
            string soft;
            double est = 8.0 * (2.0 * T * T * d + 2.0 * T * T * e) / (0.5 * peak * 1e9) + 8.0 * T * T * 4 * 3 / 20e9;
            if (est > 60) soft = $"skipped (estimated {est:F0} s > 60 s)";
            else
            {
                double ss = Report.Time(() => SoftmaxAttention(q, k, v, 0.125).Dispose(), 1);
                soft = $"{ss * 1e3,9:F1} ms";
            }
            Console.WriteLine($"  T={T,6}: additive {sa * 1e3,9:F1} ms ({sa / T * 1e6:F2} µs/token)   softmax {soft}");
        }
    }

    /// <summary>Forward + backward with MD-LRPE fused into the kernels against the composition of ops (expansion materialised, decay tiled).</summary>
    public static void LrpeFusion()
    {
        Console.WriteLine("MD-LRPE fused into the attention kernels vs composed from ops, forward + backward:");
        foreach (var (causal, B, H, T, d) in new[] { (true, 4, 8, 2048, 64), (false, 4, 8, 2048, 64), (false, 64, 2, 49, 32) })
        {
            using var scope = DisposalScope.Begin();
            var gen = new Generator(3);
            var q = Tensor.RandN([B, H, T, d], gen); var k = Tensor.RandN([B, H, T, d], gen); var v = Tensor.RandN([B, H, T, d], gen);
            var dO = Tensor.RandN([B, H, T, d], gen);
            var angles = MdLrpe.Angles([T], d, dtype: DType.Float32);
            double Run(bool fused) => Report.Time(() =>
            {
                using var s = DisposalScope.Begin();
                Variable qv = new(q, true), kv = new(k, true), vv = new(v, true);
                var o = fused ? (causal ? AttentionOps.AdditiveCausalWithState(qv, kv, vv, 0.125, lrpeAngles: angles).O : AttentionOps.AdditiveNonCausal(qv, kv, vv, 0.125, null, angles))
                    : Composed(causal, qv, kv, vv, angles);
                o.Backward(dO);
            }, 3);
            double f = Run(true), c = Run(false);
            Console.WriteLine($"  {(causal ? "causal" : "non-causal"),-10} B={B} H={H} T={T} d=e={d}: fused {f * 1e3,7:F1} ms, composed {c * 1e3,7:F1} ms ({c / f:F2}×)");
        }
    }

    /// <summary>The op composition the fused kernels replace: k̄ and the decays as tensors, φ = MD-LRPE applied to q and k̄, decay tiled to 2d.</summary>
    private static Variable Composed(bool causal, Variable q, Variable k, Variable v, Tensor angles)
    {
        if (!causal) return Variable.Matmul(q.Lrpe(angles), Variable.Matmul(k.Softmax(2).Lrpe(angles).Transpose(-1, -2), v)) * 0.125;
        int T = q.Size(2);
        var Z = k.LogCumSumExp(2);
        var g = Variable.Concat([Z.Narrow(2, 0, 1), Z.Narrow(2, 0, T - 1)], 2) - Z;
        return AttentionOps.Gated(q.Lrpe(angles), (k - Z).Exp().Lrpe(angles), v, Variable.Concat([g, g], 3), 0.125).O;
    }

    /// <summary>Causal softmax attention computed per (batch, head) so at most one T×T score matrix is live.</summary>
    public static Tensor SoftmaxAttention(Tensor q, Tensor k, Tensor v, double scale)
    {
        int B = q.Size(0), H = q.Size(1), T = q.Size(2);
        var outs = new List<Tensor>();
        using var maskRow = Tensor.Arange(T, DType.Float32);
        using var rows = maskRow.Reshape(T, 1);
        using var cols = maskRow.Reshape(1, T);
        using var future = cols.Gt(rows);
        using var ninf = Tensor.Full([], double.NegativeInfinity);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
            {
                using var s = DisposalScope.Begin();
                var qh = q.Select(0, b).Select(0, h);
                var kh = k.Select(0, b).Select(0, h);
                var vh = v.Select(0, b).Select(0, h);
                var scores = Tensor.Matmul(qh, kh.Transpose()) * scale;
                var masked = Tensor.Where(future, ninf, scores);
                var p = masked.Softmax(-1);
                outs.Add(s.Keep(Tensor.Matmul(p, vh)));
            }
        var o = Tensor.Stack(outs);
        foreach (var t in outs) t.Dispose();
        return o;
    }
}
