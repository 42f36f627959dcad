using LightNet.Autograd;
using LightNet.Kernels.Cuda;

namespace LightNet.Tests;

/// <summary>
/// The fused causal attention on heads split from a projection ([B, T, H, dim] seen as [B, H, T, dim], no copy): the
/// same values as on contiguous heads, outputs in the inputs' layout, on the CPU and (bit for bit) on CUDA.
/// </summary>
[Category("Kernels")]
public class HeadLayoutTests
{
    /// <summary>[B, H, T, dim] heads of a [B, T, H·dim] tensor with the values of <paramref name="heads"/> (a tokens-major view).</summary>
    internal static Tensor TokensMajor(Tensor heads)
    {
        int b = heads.Size(0), h = heads.Size(1), t = heads.Size(2), dim = heads.Size(3);
        using var p = heads.Permute(0, 2, 1, 3);
        using var rows = p.Contiguous();
        using var flat = rows.Reshape(b, t, h * dim);
        using var split = flat.Reshape(b, t, h, dim);
        return split.Permute(0, 2, 1, 3);
    }

    private static void Same(Tensor a, Tensor b, string what) =>
        Assert.That(a.ToDoubleArray(), Is.EqualTo(b.ToDoubleArray()), what + ": not bitwise equal");

    [Test]
    public void LayoutsAreRecognised()
    {
        using var s = DisposalScope.Begin();
        var x = Reference.Randn([2, 3, 5, 4]);
        Assert.That(HeadLayouts.Of(x), Is.EqualTo(HeadLayout.HeadsMajor));
        Assert.That(HeadLayouts.Of(TokensMajor(x)), Is.EqualTo(HeadLayout.TokensMajor));
        Assert.That(HeadLayouts.Of(x.Narrow(2, 1, 3)), Is.Null, "a slice of the tokens is neither");
        Assert.That(HeadLayouts.Of(x.Transpose(2, 3)), Is.Null, "transposed rows are neither");
        Assert.That(HeadLayouts.Of(Reference.Randn([2, 3, 5])), Is.Null, "rank 3");
        var one = Reference.Randn([2, 5, 1, 4]).Permute(0, 2, 1, 3);
        Assert.That(HeadLayouts.Of(one), Is.EqualTo(HeadLayout.HeadsMajor), "one head: both layouts are the same memory");
        var y = HeadLayouts.In(x, HeadLayout.TokensMajor);
        Assert.That(HeadLayouts.Of(y), Is.EqualTo(HeadLayout.TokensMajor));
        Same(y, x, "In(TokensMajor)");
        var src = TokensMajor(x);
        var z = HeadLayouts.In(src, HeadLayout.TokensMajor);
        Assert.That(z.Storage, Is.SameAs(src.Storage), "already in the layout: a view, no copy");
    }

    /// <summary>Causal forward and backward on tokens-major (and mixed) operands equal the heads-major results exactly.</summary>
    private static void LayoutsAgree(Device dev, DType dt, int B, int H, int T, int d, int e, bool withState, bool tf32 = false)
    {
        using var s = DisposalScope.Begin();
        var q = Reference.Randn([B, H, T, d], dt, 301).Silu().To(dev);
        var k = (Reference.Randn([B, H, T, d], dt, 302) * 2).To(dev);
        var v = Reference.Randn([B, H, T, e], dt, 303).To(dev);
        var dO = Reference.Randn([B, H, T, e], dt, 304).To(dev);
        var s0 = withState ? Reference.Randn([B, H, d, e], dt, 305).To(dev) : null;
        var z0 = withState ? Reference.Randn([B, H, d], dt, 306).To(dev) : null;
        var backend = dev.Kind == DeviceKind.Cuda ? CudaBackend.For(dev.Index) : null;
        bool before = backend?.AllowTf32 ?? false;
        if (backend != null) backend.AllowTf32 = tf32;
        try
        {
            var (o, st, zt) = AdditiveAttention.CausalForward(q, k, v, 0.3, s0, z0);
            var r = AdditiveAttention.CausalBackward(q, k, v, 0.3, s0, z0, dO);
            Tensor qt = TokensMajor(q), kt = TokensMajor(k), vt = TokensMajor(v), dOt = TokensMajor(dO);
            foreach (var (qq, kk, vv, dd, name) in new[] { (qt, kt, vt, dOt, "tokens-major"), (qt, k, Reference.NonContiguous(v), dO, "mixed") })
            {
                var (o2, st2, zt2) = AdditiveAttention.CausalForward(qq, kk, vv, 0.3, s0, z0);
                Assert.That(HeadLayouts.Of(o2), Is.EqualTo(HeadLayouts.Of(vv) ?? HeadLayout.HeadsMajor), name + ": o in v's layout");
                Same(o2, o, name + " o"); Same(st2, st, name + " S_T"); Same(zt2, zt, name + " Z_T");
                var r2 = AdditiveAttention.CausalBackward(qq, kk, vv, 0.3, s0, z0, dd);
                Assert.That(HeadLayouts.Of(r2.Dq), Is.EqualTo(HeadLayouts.Of(qq)), name + ": dq in q's layout");
                Same(r2.Dq, r.Dq, name + " dq"); Same(r2.Dk, r.Dk, name + " dk"); Same(r2.Dv, r.Dv, name + " dv");
                if (withState) { Same(r2.DS0!, r.DS0!, name + " dS0"); Same(r2.DZ0!, r.DZ0!, name + " dZ0"); }
            }
        }
        finally
        {
            if (backend != null) backend.AllowTf32 = before;
        }
    }

    [Test]
    public void CpuTokensMajorEqualsHeadsMajor([Values(false, true)] bool withState, [Values(DType.Float32, DType.Float64)] DType dt) =>
        LayoutsAgree(Device.Cpu, dt, 2, 3, 70, 5, 7, withState);

    [Test]
    [Category("Cuda")]
    public void CudaTokensMajorEqualsHeadsMajor([Values(false, true)] bool withState, [Values(DType.Float32, DType.Float64)] DType dt,
        [Values(16, 24)] int d, [Values(33, 64)] int e) =>
        LayoutsAgree(Gpu.Require(), dt, 2, 3, 130, d, e, withState);

    [Test]
    [Category("Cuda")]
    public void CudaTf32TokensMajorEqualsHeadsMajor([Values(false, true)] bool withState) =>
        LayoutsAgree(Gpu.Require(), DType.Float32, 2, 3, 200, 32, 64, withState, tf32: true);

    [Test]
    [Category("Cuda")]
    public void CudaTokensMajorMatchesCpu([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int B = 2, H = 3, T = 100, d = 16, e = 33;
        var q = TokensMajor(Reference.Randn([B, H, T, d], dt, 311).Silu());
        var k = TokensMajor(Reference.Randn([B, H, T, d], dt, 312) * 3);
        var v = TokensMajor(Reference.Randn([B, H, T, e], dt, 313));
        var dO = TokensMajor(Reference.Randn([B, H, T, e], dt, 314));
        var G = (Tensor t) => TokensMajor(t.To(dev));
        var (o, _, _) = AdditiveAttention.CausalForward(q, k, v, 0.25);
        var (go, _, _) = AdditiveAttention.CausalForward(G(q), G(k), G(v), 0.25);
        double tol = Gpu.Tol(dt);
        Gpu.Parity(go, o, tol, "o");
        var c = AdditiveAttention.CausalBackward(q, k, v, 0.25, null, null, dO);
        var r = AdditiveAttention.CausalBackward(G(q), G(k), G(v), 0.25, null, null, G(dO));
        Gpu.Parity(r.Dq, c.Dq, tol, "dq");
        Gpu.Parity(r.Dk, c.Dk, tol, "dk");
        Gpu.Parity(r.Dv, c.Dv, tol, "dv");
    }

    [Test]
    [Category("Cuda")]
    public void CudaBackendRejectsMismatchedLayouts()
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var q = TokensMajor(Reference.Randn([1, 2, 9, 4], DType.Float32, 1).To(dev));
        var k = Reference.Randn([1, 2, 9, 4], DType.Float32, 2).To(dev);
        var v = Reference.Randn([1, 2, 9, 4], DType.Float32, 3).To(dev);
        var o = v.EmptyLike(); var sT = Tensor.Empty([1, 2, 4, 4], DType.Float32, dev); var zT = Tensor.Empty([1, 2, 4], DType.Float32, dev);
        var ex = Assert.Throws<ShapeException>(() => CudaBackend.For(0).AdditiveCausalForward(q, k, v, 1, null, null, o, sT, zT, 64))!;
        Assert.That(ex.Message, Does.Contain("additive_attention").And.Contain("'k'"));
    }

    /// <summary>Through autograd: heads split from a projection (views) give the gradients of explicitly packed heads.</summary>
    [Test]
    public void AutogradOnProjectionHeadsEqualsPackedHeads()
    {
        int B = 2, T = 37, H = 3, d = 4;
        double[] Grad(bool pack)
        {
            using var s = DisposalScope.Begin();
            var x = new Variable(Reference.Randn([B, T, 3 * H * d], DType.Float64, 321), requiresGrad: true);
            Variable Head(int i)
            {
                var h = x.Narrow(2, i * H * d, H * d).Reshape(B, T, H, d).Permute(0, 2, 1, 3);
                return pack ? h * 1.0 : h;
            }
            var o = AttentionOps.AdditiveCausal(Head(0).Silu(), Head(1), Head(2), 0.5);
            var merged = o.Permute(0, 2, 1, 3).Reshape(B, T, H * d);
            var w = new Variable(Reference.Randn([B, T, H * d], DType.Float64, 322));
            (merged * w).Sum().Backward();
            return x.Grad!.ToDoubleArray();
        }
        Assert.That(Grad(false), Is.EqualTo(Grad(true)).Within(1e-12));
    }
}
