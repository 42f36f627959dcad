namespace LightNet.Tests;

/// <summary>CPU vs CUDA parity of the LightNet-specific ops: attention, MD-LRPE, MD-TPE and the optimizers.</summary>
[Category("Cuda")]
public class CudaModelOpsTests
{
    [Test]
    public void GatedAttentionForwardBackward([Values(false, true)] bool withState, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int B = 2, H = 3, T = 77, d = 24, e = 40;
        var q = Reference.Randn([B, H, T, d], dt, 201);
        var kb = Reference.Randn([B, H, T, d], dt, 202).Sigmoid();
        var v = Reference.Randn([B, H, T, e], dt, 203);
        var g = Reference.Randn([B, H, T, d], dt, 204).Sigmoid().Log();
        var s0 = withState ? Reference.Randn([B, H, d, e], dt, 205) : null;
        var dO = Reference.Randn([B, H, T, e], dt, 206);
        var dsT = withState ? Reference.Randn([B, H, d, e], dt, 207) : null;
        var G = (Tensor t) => t.To(dev);
        var (o, st) = GatedAttention.Forward(q, kb, v, g, 0.3, s0, 16);
        var (go, gst) = GatedAttention.Forward(G(q), G(kb), G(v), G(g), 0.3, s0 == null ? null : G(s0), 16);
        double tol = Gpu.Tol(dt);
        Gpu.Parity(go, o, tol, "o");
        Gpu.Parity(gst, st, tol, "final state");
        var c = GatedAttention.Backward(q, kb, v, g, 0.3, s0, dO, dsT, 16);
        var r = GatedAttention.Backward(G(q), G(kb), G(v), G(g), 0.3, s0 == null ? null : G(s0), G(dO), dsT == null ? null : G(dsT), 16);
        Gpu.Parity(r.Dq, c.Dq, tol, "dq");
        Gpu.Parity(r.Dkbar, c.Dkbar, tol, "dkbar");
        Gpu.Parity(r.Dv, c.Dv, tol, "dv");
        Gpu.Parity(r.Dg, c.Dg, tol, "dg");
        if (withState) Gpu.Parity(r.DState!, c.DState!, tol, "dS0");
    }

    [Test]
    public void AdditiveCausalForwardBackward([Values(false, true)] bool withState, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int B = 2, H = 2, T = 100, d = 16, e = 33;
        var q = Reference.Randn([B, H, T, d], dt, 211).Silu();
        var k = Reference.Randn([B, H, T, d], dt, 212) * 3;
        var v = Reference.Randn([B, H, T, e], dt, 213);
        var s0 = withState ? Reference.Randn([B, H, d, e], dt, 214) : null;
        var z0 = withState ? Reference.Randn([B, H, d], dt, 215) : null;
        var dO = Reference.Randn([B, H, T, e], dt, 216);
        var G = (Tensor? t) => t?.To(dev);
        var (o, st, zt) = AdditiveAttention.CausalForward(q, k, v, 0.25, s0, z0);
        var (go, gst, gzt) = AdditiveAttention.CausalForward(G(q)!, G(k)!, G(v)!, 0.25, G(s0), G(z0));
        double tol = Gpu.Tol(dt);
        Gpu.Parity(go, o, tol, "o");
        Gpu.Parity(gst, st, tol, "S_T");
        Gpu.Parity(gzt, zt, tol, "Z_T");
        var c = AdditiveAttention.CausalBackward(q, k, v, 0.25, s0, z0, dO);
        var r = AdditiveAttention.CausalBackward(G(q)!, G(k)!, G(v)!, 0.25, G(s0), G(z0), G(dO)!);
        Gpu.Parity(r.Dq, c.Dq, tol, "dq");
        Gpu.Parity(r.Dk, c.Dk, tol, "dk");
        Gpu.Parity(r.Dv, c.Dv, tol, "dv");
        if (withState)
        {
            Gpu.Parity(r.DS0!, c.DS0!, tol, "dS0");
            Gpu.Parity(r.DZ0!, c.DZ0!, tol, "dZ0");
        }
    }

    [Test]
    public void LrpeForwardBackward([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var ang = MdLrpe.Angles([5, 7], 20, nExtra: 1, dtype: dt);
        var x = Reference.Randn([3, 2, 36, 20], dt, 221);
        var dy = Reference.Randn([3, 2, 36, 40], dt, 222);
        Gpu.Parity(MdLrpe.Apply(Gpu.Strided(x.To(dev)), ang.To(dev)), MdLrpe.Apply(x, ang), Gpu.Tol(dt), "lrpe");
        Gpu.Parity(MdLrpe.Backward(dy.To(dev), ang.To(dev)), MdLrpe.Backward(dy, ang), Gpu.Tol(dt), "lrpe backward");
    }

    [Test]
    public void ToeplitzForwardBackward([Values(false, true)] bool causal, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        foreach (var (grid, extra) in causal ? new[] { (new[] { 37 }, 0) } : new[] { (new[] { 5, 6 }, 2), (new[] { 3, 4, 5 }, 0) })
        {
            var plan = new ToeplitzPlan(grid, extra, causal, residual: !causal);
            int n = extra + grid.Aggregate(1, (a, b) => a * b), c = 7;
            var x = Reference.Randn([2, n, c], dt, 231);
            var kern = Reference.Randn([.. plan.KernelShape(c)], dt, 232);
            var dy = Reference.Randn([2, n, c], dt, 233);
            foreach (var alg in new[] { ToeplitzAlgorithm.Direct, ToeplitzAlgorithm.Fft })
            {
                var p = plan.With(alg);
                double tol = alg == ToeplitzAlgorithm.Fft && dt == DType.Float32 ? 1e-10 : Gpu.Tol(dt);
                Gpu.Parity(Tensor.Toeplitz(x.To(dev), kern.To(dev), p), Tensor.Toeplitz(x, kern, p), tol, $"toeplitz {alg} grid {Shape.Format(grid)}");
                var (dx, dk) = Tensor.ToeplitzBackward(x, kern, dy, p);
                var (gdx, gdk) = Tensor.ToeplitzBackward(x.To(dev), kern.To(dev), dy.To(dev), p);
                Gpu.Parity(gdx!, dx!, tol, $"toeplitz dx {alg}");
                Gpu.Parity(gdk!, dk!, tol, $"toeplitz dkernel {alg}");
            }
        }
    }

    [Test]
    public void AdamWAndSgdUpdates([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var p = Reference.Randn([33, 17], dt, 241);
        var g = Reference.Randn([33, 17], dt, 242);
        var m = Reference.Randn([33, 17], dt, 243) * 0.1;
        var v = Reference.Randn([33, 17], dt, 244).Square() * 0.01;
        var (gp, gm, gv) = (p.To(dev), m.To(dev), v.To(dev));
        var step = new AdamWStep(1e-3, 0.9, 0.95, 1e-8, 0.1, 7);
        Optimizers.AdamW(p, g, m, v, step);
        Optimizers.AdamW(gp, g.To(dev), gm, gv, step);
        Gpu.Parity(gp, p, Gpu.Tol(dt), "adamw param");
        Gpu.Parity(gm, m, Gpu.Tol(dt), "adamw m");
        Gpu.Parity(gv, v, Gpu.Tol(dt), "adamw v");
        var buf = Reference.Randn([33, 17], dt, 245);
        var gbuf = buf.To(dev);
        Optimizers.Sgd(p, g, buf, 0.05, 0.9, 0.01);
        Optimizers.Sgd(gp, g.To(dev), gbuf, 0.05, 0.9, 0.01);
        Gpu.Parity(gp, p, Gpu.Tol(dt), "sgd param");
        Gpu.Parity(gbuf, buf, Gpu.Tol(dt), "sgd momentum");
    }
}
