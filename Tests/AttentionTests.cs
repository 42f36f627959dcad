using LightNet.Autograd;

namespace LightNet.Tests;

[Category("Kernels")]
public class AttentionTests
{
    /// <summary>Masked quadratic form in float64: o_t = α Σ_{s≤t} Σ_i q_t[i] exp(k_s[i] − Z_t[i]) v_s (test reference only).</summary>
    internal static double[] QuadraticCausal(Tensor q, Tensor k, Tensor v, double scale)
    {
        int B = q.Size(0), H = q.Size(1), T = q.Size(2), d = q.Size(3), e = v.Size(3);
        var qa = q.ToDoubleArray(); var ka = k.ToDoubleArray(); var va = v.ToDoubleArray();
        var o = new double[B * H * T * e];
        for (int n = 0; n < B * H; n++)
            for (int t = 0; t < T; t++)
            {
                var z = new double[d];
                for (int i = 0; i < d; i++)
                {
                    double m = double.NegativeInfinity;
                    for (int s = 0; s <= t; s++) m = Math.Max(m, ka[(n * T + s) * d + i]);
                    double acc = 0;
                    for (int s = 0; s <= t; s++) acc += Math.Exp(ka[(n * T + s) * d + i] - m);
                    z[i] = m + Math.Log(acc);
                }
                for (int s = 0; s <= t; s++)
                {
                    double w = 0;
                    for (int i = 0; i < d; i++) w += qa[(n * T + t) * d + i] * Math.Exp(ka[(n * T + s) * d + i] - z[i]);
                    for (int j = 0; j < e; j++) o[(n * T + t) * e + j] += scale * w * va[(n * T + s) * e + j];
                }
            }
        return o;
    }

    private static (Tensor q, Tensor k, Tensor v) Inputs(int B, int H, int T, int d, int e, DType dt, double kStd = 1, ulong seed = 1) =>
        (Reference.Randn([B, H, T, d], dt, seed), Reference.Randn([B, H, T, d], dt, seed + 1) * kStd, Reference.Randn([B, H, T, e], dt, seed + 2));

    [Test]
    public void HandCase()
    {
        using var s = DisposalScope.Begin();
        var q = new Variable(Tensor.FromArray(new double[] { 1, 1, 1 }, [1, 1, 3, 1]));
        var k = new Variable(Tensor.FromArray(new[] { 0, Math.Log(2), Math.Log(3) }, [1, 1, 3, 1]));
        var v = new Variable(Tensor.FromArray(new double[] { 1, 2, 3 }, [1, 1, 3, 1]));
        var oc = AttentionOps.AdditiveCausal(q, k, v, 1.0).Data.ToDoubleArray();
        var on = AttentionOps.AdditiveNonCausal(q, k, v, 1.0).Data.ToDoubleArray();
        Assert.That(oc, Is.EqualTo(new[] { 1, 5.0 / 3, 7.0 / 3 }).Within(1e-14));
        Assert.That(on, Is.EqualTo(new[] { 7.0 / 3, 7.0 / 3, 7.0 / 3 }).Within(1e-14));
    }

    [Test]
    public void ChunkedEqualsRecurrentEqualsQuadratic([Values(1, 2, 7, 65, 130)] int T, [Values(DType.Float32, DType.Float64)] DType dt, [Values(16, 64)] int chunk)
    {
        using var s = DisposalScope.Begin();
        var (q, k, v) = Inputs(2, 3, T, 5, 3, dt);
        double scale = 1 / Math.Sqrt(5);
        var o = AttentionOps.AdditiveCausal(new Variable(q), new Variable(k), new Variable(v), scale, chunk: chunk).Data;
        var quad = QuadraticCausal(q, k, v, scale);
        Reference.Close(o, quad, dt == DType.Float64 ? 1e-12 : 2e-5, "chunked vs quadratic");
        // Recurrent form of the same gated problem.
        var Z = k.LogCumSumExp(2);
        var kbar = (k - Z).Exp();
        var zprev = T == 1 ? Z : Tensor.Concat([Z.Narrow(2, 0, 1), Z.Narrow(2, 0, T - 1)], 2);
        var g = zprev - Z;
        var (rec, _) = GatedAttention.Recurrent(q, kbar, v, g, scale);
        Reference.Close(o, rec, dt == DType.Float64 ? 1e-12 : 2e-5, "chunked vs recurrent");
    }

    [Test]
    public void GatedChunkedEqualsRecurrentWithInitialState([Values(1, 7, 65, 130)] int T, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var s = DisposalScope.Begin();
        var q = Reference.Randn([2, 2, T, 5], dt, 11);
        var kb = Reference.Randn([2, 2, T, 5], dt, 12).Sigmoid();
        var v = Reference.Randn([2, 2, T, 3], dt, 13);
        var g = (Reference.Randn([2, 2, T, 5], dt, 14) * 2).Sigmoid().Log();
        var s0 = Reference.Randn([2, 2, 5, 3], dt, 15);
        var (o, st) = GatedAttention.Forward(q, kb, v, g, 0.7, s0);
        var (ro, rst) = GatedAttention.Recurrent(q, kb, v, g, 0.7, s0);
        double tol = dt == DType.Float64 ? 1e-12 : 2e-5;
        Reference.Close(o, ro, tol, "o");
        Reference.Close(st, rst, tol, "state");
    }

    [Test]
    public void LastCausalRowEqualsNonCausalRow()
    {
        using var s = DisposalScope.Begin();
        var (q, k, v) = Inputs(2, 2, 37, 6, 4, DType.Float64);
        var qv = new Variable(q); var kv = new Variable(k); var vv = new Variable(v);
        var oc = AttentionOps.AdditiveCausal(qv, kv, vv, 0.5).Data.Select(2, 36);
        var on = AttentionOps.AdditiveNonCausal(qv, kv, vv, 0.5).Data.Select(2, 36);
        Reference.Close(oc, on, 1e-13);
    }

    [Test]
    public void KeyGradientSumsToZeroPerColumn([Values(7, 130)] int T)
    {
        using var s = DisposalScope.Begin();
        var (q, k, v) = Inputs(1, 2, T, 4, 3, DType.Float64);
        var kv = new Variable(k, requiresGrad: true);
        var o = AttentionOps.AdditiveCausal(new Variable(q), kv, new Variable(v), 0.5);
        o.Backward(Reference.Randn([1, 2, T, 3], DType.Float64, 9));
        var colSum = kv.Grad!.Sum(2).ToDoubleArray();
        var scale = kv.Grad!.Abs().Max().Item();
        Assert.That(colSum.Max(Math.Abs), Is.LessThan(1e-12 * Math.Max(1, scale) * T));
    }

    [Test]
    public void CausalityAndPermutationEquivariance()
    {
        using var s = DisposalScope.Begin();
        var (q, k, v) = Inputs(1, 2, 20, 4, 3, DType.Float64);
        var o1 = AttentionOps.AdditiveCausal(new Variable(q), new Variable(k), new Variable(v), 1.0).Data;
        var k2 = k.Clone(); var v2 = v.Clone();
        using (var tail = k2.Narrow(2, 12, 8)) tail.CopyFrom(Reference.Randn([1, 2, 8, 4], DType.Float64, 77));
        using (var tail = v2.Narrow(2, 12, 8)) tail.CopyFrom(Reference.Randn([1, 2, 8, 3], DType.Float64, 78));
        var o2 = AttentionOps.AdditiveCausal(new Variable(q), new Variable(k2), new Variable(v2), 1.0).Data;
        Reference.Close(o2.Narrow(2, 0, 12), o1.Narrow(2, 0, 12), 1e-14, "prefix unchanged");
        Assert.That(Reference.RelErr(o2.Narrow(2, 12, 8).ToDoubleArray(), o1.Narrow(2, 12, 8).ToDoubleArray()), Is.GreaterThan(1e-3));

        var perm = Tensor.FromArray(Enumerable.Range(0, 20).Reverse().Select((x, i) => (long)((x * 7) % 20)).ToArray());
        var on = AttentionOps.AdditiveNonCausal(new Variable(q), new Variable(k), new Variable(v), 1.0).Data;
        var onp = AttentionOps.AdditiveNonCausal(new Variable(q.IndexSelect(2, perm)), new Variable(k.IndexSelect(2, perm)), new Variable(v.IndexSelect(2, perm)), 1.0).Data;
        Reference.Close(onp, on.IndexSelect(2, perm), 1e-13, "permutation equivariance");
    }

    [Test]
    public void DecodingTokenByTokenEqualsPrefill([Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var s = DisposalScope.Begin();
        int T = 23;
        var (q, k, v) = Inputs(2, 2, T, 5, 3, dt);
        var full = AttentionOps.AdditiveCausal(new Variable(q), new Variable(k), new Variable(v), 0.3, chunk: 16).Data;
        AdditiveState? state = null;
        var outs = new List<Tensor>();
        for (int t = 0; t < T; t++)
        {
            var (o, st) = AttentionOps.AdditiveCausalWithState(new Variable(q.Narrow(2, t, 1)), new Variable(k.Narrow(2, t, 1)), new Variable(v.Narrow(2, t, 1)), 0.3, initial: state);
            outs.Add(o.Data);
            state = st;
        }
        Reference.Close(Tensor.Concat(outs, 2), full, dt == DType.Float64 ? 1e-12 : 2e-5);
        // Prefill a prefix, then continue from its state.
        var (o1, s1) = AttentionOps.AdditiveCausalWithState(new Variable(q.Narrow(2, 0, 10)), new Variable(k.Narrow(2, 0, 10)), new Variable(v.Narrow(2, 0, 10)), 0.3);
        var (o2, _) = AttentionOps.AdditiveCausalWithState(new Variable(q.Narrow(2, 10, 13)), new Variable(k.Narrow(2, 10, 13)), new Variable(v.Narrow(2, 10, 13)), 0.3, initial: s1);
        Reference.Close(Tensor.Concat([o1.Data, o2.Data], 2), full, dt == DType.Float64 ? 1e-12 : 2e-5);
    }

    [Test]
    public void PaddingMaskRemovesPadsCompletely([Values] bool causal)
    {
        using var s = DisposalScope.Begin();
        // Row 0: 3 leading pads then 9 tokens; row 1: 9 tokens then 3 trailing pads.
        var (q, k, v) = Inputs(1, 2, 9, 4, 3, DType.Float64);
        Variable Run(Variable qq, Variable kk, Variable vv, Tensor? m) => causal
            ? AttentionOps.AdditiveCausal(qq, kk, vv, 0.5, m, chunk: 16)
            : AttentionOps.AdditiveNonCausal(qq, kk, vv, 0.5, m);
        var reference = Run(new Variable(q), new Variable(k), new Variable(v), null).Data;
        var junkQ = Reference.Randn([1, 2, 3, 4], DType.Float64, 50) * 100;
        var junkV = Reference.Randn([1, 2, 3, 3], DType.Float64, 51) * 100;
        var left = (Tensor.Concat([junkQ, q], 2), Tensor.Concat([junkQ, k], 2), Tensor.Concat([junkV, v], 2));
        var right = (Tensor.Concat([q, junkQ], 2), Tensor.Concat([k, junkQ], 2), Tensor.Concat([v, junkV], 2));
        var mask = Tensor.FromArray(new double[] { 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 }, [2, 12]);
        var qq = new Variable(Tensor.Concat([left.Item1, right.Item1], 0), requiresGrad: true);
        var kk = new Variable(Tensor.Concat([left.Item2, right.Item2], 0), requiresGrad: true);
        var vv = new Variable(Tensor.Concat([left.Item3, right.Item3], 0), requiresGrad: true);
        var o = Run(qq, kk, vv, mask);
        var od = o.Data;
        Reference.Close(od.Narrow(0, 0, 1).Narrow(2, 3, 9), reference, 1e-12, "left-padded row");
        Reference.Close(od.Narrow(0, 1, 1).Narrow(2, 0, 9), reference, 1e-12, "right-padded row");
        Assert.That(od.Narrow(0, 0, 1).Narrow(2, 0, 3).ToDoubleArray(), Has.All.EqualTo(0.0));
        Assert.That(od.Narrow(0, 1, 1).Narrow(2, 9, 3).ToDoubleArray(), Has.All.EqualTo(0.0));
        o.Backward(Tensor.Ones(od.Shape, DType.Float64));
        foreach (var x in new[] { qq, kk, vv })
        {
            var gr = x.Grad!.ToDoubleArray();
            Assert.That(gr.All(double.IsFinite), Is.True, "no NaN or inf in gradients");
            Assert.That(x.Grad!.Narrow(0, 0, 1).Narrow(2, 0, 3).ToDoubleArray(), Has.All.EqualTo(0.0), "pads get no gradient");
        }
        // A row made only of pads gives zeros, not NaN.
        var allPad = Tensor.Zeros([2, 12], DType.Float64);
        var oz = Run(new Variable(qq.Data), new Variable(kk.Data), new Variable(vv.Data), allPad).Data.ToDoubleArray();
        Assert.That(oz, Has.All.EqualTo(0.0));
    }

    [Test]
    public void LargeKeysStayFinite([Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var s = DisposalScope.Begin();
        var (q, k, v) = Inputs(1, 2, 300, 8, 4, dt, kStd: 10, seed: 5);
        var qv = new Variable(q, true); var kv = new Variable(k, true); var vv = new Variable(v, true);
        var o = AttentionOps.AdditiveCausal(qv, kv, vv, 0.35);
        o.Backward(Tensor.Ones(o.Shape, dt));
        foreach (var t in new[] { o.Data, qv.Grad!, kv.Grad!, vv.Grad! })
            Assert.That(t.ToDoubleArray().All(double.IsFinite), Is.True);
        if (dt == DType.Float32)
        {
            var q64 = q.To(DType.Float64); var k64 = k.To(DType.Float64); var v64 = v.To(DType.Float64);
            Reference.Close(o.Data, QuadraticCausal(q64, k64, v64, 0.35), 1e-4, "float32 vs float64 with N(0, 10²) keys");
        }
    }

    [Test]
    public void GradCheckGatedOp([Values(1, 2, 7, 65, 130)] int T)
    {
        using var s = DisposalScope.Begin();
        var inputs = new[]
        {
            Reference.Randn([1, 1, T, 3], DType.Float64, 1),
            Reference.Randn([1, 1, T, 3], DType.Float64, 2).Sigmoid(),
            Reference.Randn([1, 1, T, 2], DType.Float64, 3),
            Reference.Randn([1, 1, T, 3], DType.Float64, 4).Sigmoid().Log(),
            Reference.Randn([1, 1, 3, 2], DType.Float64, 5),
        };
        var r = GradCheck.Check(x => AttentionOps.Gated(x[0], x[1], x[2], x[3], 0.6, x[4], chunk: 64).O, inputs);
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void GradCheckAdditiveCausal([Values(1, 2, 7, 65)] int T)
    {
        using var s = DisposalScope.Begin();
        var inputs = new[]
        {
            Reference.Randn([1, 1, T, 3], DType.Float64, 1),
            Reference.Randn([1, 1, T, 3], DType.Float64, 2),
            Reference.Randn([1, 1, T, 2], DType.Float64, 3),
            Tensor.Scalar(0.7, DType.Float64),
            Reference.Randn([1, 1, 3, 2], DType.Float64, 5),
            Reference.Randn([1, 1, 3], DType.Float64, 6),
        };
        var r = GradCheck.Check(x =>
        {
            var (o, _) = AttentionOps.AdditiveCausalWithState(x[0], x[1], x[2], 1.0, initial: new AdditiveState(x[4], x[5]), chunk: 64);
            return o * x[3];
        }, inputs);
        Assert.That(r.Passed, Is.True, r.Report);
        var r2 = GradCheck.Check(x => AttentionOps.AdditiveCausal(x[0], x[1], x[2], x[3]), inputs[..4]);
        Assert.That(r2.Passed, Is.True, r2.Report);
    }

    [Test]
    public void GradCheckAdditiveCausalLongAndMasked()
    {
        using var s = DisposalScope.Begin();
        int T = 130;
        var inputs = new[] { Reference.Randn([1, 1, T, 2], DType.Float64, 1), Reference.Randn([1, 1, T, 2], DType.Float64, 2), Reference.Randn([1, 1, T, 2], DType.Float64, 3) };
        var r = GradCheck.Check(x => AttentionOps.AdditiveCausal(x[0], x[1], x[2], 0.5, chunk: 64), inputs);
        Assert.That(r.Passed, Is.True, r.Report);
        var m = Tensor.FromArray(Enumerable.Range(0, 9).Select(i => i is 0 or 4 or 8 ? 0.0 : 1.0).ToArray(), [1, 9]);
        var small = inputs.Select(t => t.Narrow(2, 0, 9).Contiguous()).ToArray();
        var rm = GradCheck.Check(x => AttentionOps.AdditiveCausal(x[0], x[1], x[2], 0.5, m), small);
        Assert.That(rm.Passed, Is.True, rm.Report);
        var rn = GradCheck.Check(x => AttentionOps.AdditiveNonCausal(x[0], x[1], x[2], 0.5, m), small);
        Assert.That(rn.Passed, Is.True, rn.Report);
    }

    [Test]
    public void BadShapesAreNamed()
    {
        using var s = DisposalScope.Begin();
        var q = new Variable(Tensor.Zeros([1, 2, 5, 4]));
        var v = new Variable(Tensor.Zeros([1, 2, 6, 4]));
        var ex = Assert.Throws<ShapeException>(() => AttentionOps.AdditiveCausal(q, q, v, 1.0));
        Assert.That(ex!.Message, Does.Contain("additive_attention_causal").And.Contain("[1, 2, 6, 4]"));
        ex = Assert.Throws<ShapeException>(() => AttentionOps.AdditiveCausal(q, q, q, 1.0, Tensor.Ones([1, 4])));
        Assert.That(ex!.Message, Does.Contain("mask"));
    }
}

public class LrpeAttentionTests
{
    [Test]
    public void CausalWithLrpeChunkedEqualsRecurrent([Values(7, 130)] int T)
    {
        using var s = DisposalScope.Begin();
        var q = Reference.Randn([1, 2, T, 4], DType.Float64, 1);
        var k = Reference.Randn([1, 2, T, 4], DType.Float64, 2);
        var v = Reference.Randn([1, 2, T, 3], DType.Float64, 3);
        var angles = MdLrpe.Angles([T], 4, 0, 100.0);
        var o = AttentionOps.AdditiveCausalWithState(new Variable(q), new Variable(k), new Variable(v), 0.5, lrpeAngles: angles).O.Data;
        var Z = k.LogCumSumExp(2);
        var kbar = (k - Z).Exp();
        var zprev = Tensor.Concat([Z.Narrow(2, 0, 1), Z.Narrow(2, 0, T - 1)], 2);
        var g = zprev - Z;
        var (rec, _) = GatedAttention.Recurrent(MdLrpe.Apply(q, angles), MdLrpe.Apply(kbar, angles), v, Tensor.Concat([g, g], 3), 0.5);
        Reference.Close(o, rec, 1e-12);
    }
}

/// <summary>The fused MD-LRPE / non-causal kernels against the composition of ops (forced by an all-ones mask), and GradChecks.</summary>
public class FusedLrpeAttentionTests
{
    private static Tensor Ones(int b, int t) => Tensor.Ones([b, t]);

    /// <summary>max|a − b| ≤ tol · max(1, max|b|): a relative check that tolerates gradients that are exactly 0 in theory (dk at T = 1).</summary>
    private static void Near(Tensor a, Tensor b, double tol, string what)
    {
        Assert.That(a.Shape, Is.EqualTo(b.Shape), what);
        double[] x = a.ToDoubleArray(), y = b.ToDoubleArray();
        double scale = Math.Max(1, y.Max(Math.Abs)), err = x.Zip(y, (p, r) => Math.Abs(p - r)).Max();
        Assert.That(err, Is.LessThanOrEqualTo(tol * scale), $"{what}: max error {err:G3}, scale {scale:G3}");
    }

    private static (Tensor O, Tensor[] Grads, AdditiveState State) Causal(Tensor q, Tensor k, Tensor v, Tensor angles, Tensor? s0, Tensor? z0, Tensor dO, bool fused)
    {
        Variable[] x = [new(q, true), new(k, true), new(v, true)];
        var init = s0 == null ? null : new AdditiveState(new Variable(s0, true), new Variable(z0!, true));
        var (o, st) = AttentionOps.AdditiveCausalWithState(x[0], x[1], x[2], 0.7, fused ? null : Ones(q.Size(0), q.Size(2)), init, chunk: 16, lrpeAngles: angles);
        (o * new Variable(dO)).Sum().Backward();
        var grads = x.Select(a => a.Grad!).Concat(init == null ? [] : [init.S.Grad!, init.Z.Grad!]).ToArray();
        return (o.Data, grads, st);
    }

    [Test]
    public void CausalFusedLrpeEqualsComposition([Values(1, 7, 65, 130)] int T, [Values(false, true)] bool withState, [Values(DType.Float64, DType.Float32)] DType dt)
    {
        using var s = DisposalScope.Begin();
        int B = 2, H = 1, d = 5, e = 3;
        var q = Reference.Randn([B, H, T, d], dt, 1); var k = Reference.Randn([B, H, T, d], dt, 2); var v = Reference.Randn([B, H, T, e], dt, 3);
        var dO = Reference.Randn([B, H, T, e], dt, 4);
        var angles = MdLrpe.Angles([T], d, 0, 100.0, offset: 3, dtype: dt);
        var s0 = withState ? Reference.Randn([B, H, 2 * d, e], dt, 5) : null;
        var z0 = withState ? Reference.Randn([B, H, d], dt, 6) : null;
        var f = Causal(q, k, v, angles, s0, z0, dO, fused: true);
        var c = Causal(q, k, v, angles, s0, z0, dO, fused: false);
        double tol = dt == DType.Float64 ? 1e-11 : 5e-5;
        Near(f.O, c.O, tol, "o");
        Near(f.State.S.Data, c.State.S.Data, tol, "final S");
        Near(f.State.Z.Data, c.State.Z.Data, tol, "final Z");
        string[] names = ["dq", "dk", "dv", "dS0", "dZ0"];
        for (int i = 0; i < f.Grads.Length; i++) Near(f.Grads[i], c.Grads[i], tol, names[i]);
    }

    [Test]
    public void NonCausalFusedEqualsComposition([Values(1, 7, 130)] int T, [Values(false, true)] bool lrpe, [Values(DType.Float64, DType.Float32)] DType dt)
    {
        using var s = DisposalScope.Begin();
        int B = 2, H = 2, d = 5, e = 3;
        var q = Reference.Randn([B, H, T, d], dt, 11); var k = Reference.Randn([B, H, T, d], dt, 12); var v = Reference.Randn([B, H, T, e], dt, 13);
        var dO = Reference.Randn([B, H, T, e], dt, 14);
        var angles = lrpe ? MdLrpe.Angles([T], d, 0, 100.0, dtype: dt) : null;
        (Tensor O, Tensor[] G) Run(bool fused)
        {
            Variable[] x = [new(q, true), new(k, true), new(v, true)];
            var o = AttentionOps.AdditiveNonCausal(x[0], x[1], x[2], 0.4, fused ? null : Ones(B, T), angles);
            (o * new Variable(dO)).Sum().Backward();
            return (o.Data, x.Select(a => a.Grad!).ToArray());
        }
        var f = Run(true); var c = Run(false);
        double tol = dt == DType.Float64 ? 1e-11 : 5e-5;
        Near(f.O, c.O, tol, "o");
        for (int i = 0; i < 3; i++) Near(f.G[i], c.G[i], tol, "d" + "qkv"[i]);
    }

    [Test]
    public void FusedKernelsTakeNonContiguousInputs()
    {
        using var s = DisposalScope.Begin();
        var q = Reference.NonContiguous(Reference.Randn([1, 2, 9, 4], DType.Float64, 21));
        var k = Reference.NonContiguous(Reference.Randn([1, 2, 9, 4], DType.Float64, 22));
        var v = Reference.NonContiguous(Reference.Randn([1, 2, 9, 3], DType.Float64, 23));
        var angles = MdLrpe.Angles([3, 3], 4, 0, 50.0);
        var a = AttentionOps.AdditiveNonCausal(new Variable(q), new Variable(k), new Variable(v), 0.5, null, angles).Data;
        var b = AttentionOps.AdditiveNonCausal(new Variable(q.Contiguous()), new Variable(k.Contiguous()), new Variable(v.Contiguous()), 0.5, null, angles).Data;
        Reference.Close(a, b, 0, "non-contiguous = contiguous");
    }

    [Test]
    public void GradCheckCausalLrpeWithState()
    {
        int T = 19, d = 3, e = 2;
        var angles = MdLrpe.Angles([T], d, 0, 30.0, offset: 5);
        Tensor[] inputs = [Reference.Randn([1, 2, T, d], DType.Float64, 31), Reference.Randn([1, 2, T, d], DType.Float64, 32), Reference.Randn([1, 2, T, e], DType.Float64, 33),
            Reference.Randn([1, 2, 2 * d, e], DType.Float64, 34), Reference.Randn([1, 2, d], DType.Float64, 35)];
        var r = GradCheck.Check(x => AttentionOps.AdditiveCausalWithState(x[0], x[1], x[2], 0.6, null, new AdditiveState(x[3], x[4]), chunk: 16, lrpeAngles: angles).O, inputs);
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void GradCheckNonCausalLrpe()
    {
        int T = 11, d = 3, e = 2;
        var angles = MdLrpe.Angles([T], d, 0, 30.0);
        Tensor[] inputs = [Reference.Randn([2, 1, T, d], DType.Float64, 41), Reference.Randn([2, 1, T, d], DType.Float64, 42), Reference.Randn([2, 1, T, e], DType.Float64, 43)];
        var r = GradCheck.Check(x => AttentionOps.AdditiveNonCausal(x[0], x[1], x[2], 0.6, null, angles), inputs);
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void BadAnglesNameTheOp()
    {
        using var s = DisposalScope.Begin();
        var q = Reference.Randn([1, 1, 6, 4]);
        var e = Assert.Throws<ShapeException>(() => AdditiveAttention.NonCausalForward(q, q, q, 1.0, MdLrpe.Angles([5], 4)));
        Assert.That(e!.Message, Does.Contain("additive_attention_noncausal").And.Contain("angles"));
    }
}
