using LightNet.Kernels.Cuda;

namespace LightNet.Tests;

/// <summary>
/// The chunked CUDA gated attention (gated.cu) against the CPU on shapes that cross every tile boundary:
/// several chunks with a partial last one, d and e over one 64-wide tile, both the factored and the pairwise
/// intra-chunk form, large keys, and the TF32 tensor-core mode with its looser bound.
/// </summary>
[Category("Cuda")]
public class CudaChunkedAttentionTests
{
    /// <summary>Bound on the normalised error of the TF32 kernels (10-bit mantissa products, fp32 accumulation).</summary>
    private const double Tf32Tol = 1e-5;

    /// <summary>Gated attention with decays of <paramref name="decay"/> × log σ(x): 0.1 keeps every chunk factored, 1 makes the first chunks pairwise.</summary>
    [Test]
    public void GatedMultiTile([Values(0.1, 1.0)] double decay, [Values(DType.Float32, DType.Float64)] DType dt, [Values(false, true)] bool tf32)
    {
        if (tf32 && dt == DType.Float64) Assert.Ignore("TF32 applies to float32 only");
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int B = 1, H = 2, T = 200, d = 80, e = 130;
        var q = Reference.Randn([B, H, T, d], dt, 301);
        var kb = Reference.Randn([B, H, T, d], dt, 302).Sigmoid();
        var v = Reference.Randn([B, H, T, e], dt, 303);
        var g = Reference.Randn([B, H, T, d], dt, 304).Sigmoid().Log() * decay;
        var s0 = Reference.Randn([B, H, d, e], dt, 305);
        var dO = Reference.Randn([B, H, T, e], dt, 306);
        var dsT = Reference.Randn([B, H, d, e], dt, 307);
        var G = (Tensor t) => t.To(dev);
        var be = CudaBackend.For(0);
        be.AllowTf32 = tf32;
        try
        {
            var (o, st) = GatedAttention.Forward(q, kb, v, g, 0.2, s0);
            var (go, gst) = GatedAttention.Forward(G(q), G(kb), G(v), G(g), 0.2, G(s0));
            var c = GatedAttention.Backward(q, kb, v, g, 0.2, s0, dO, dsT);
            var r = GatedAttention.Backward(G(q), G(kb), G(v), G(g), 0.2, G(s0), G(dO), G(dsT));
            double tol = tf32 ? Tf32Tol : Gpu.Tol(dt);
            Gpu.Parity(go, o, tol, "o");
            Gpu.Parity(gst, st, tol, "final state");
            Gpu.Parity(r.Dq, c.Dq, tol, "dq");
            Gpu.Parity(r.Dkbar, c.Dkbar, tol, "dkbar");
            Gpu.Parity(r.Dv, c.Dv, tol, "dv");
            Gpu.Parity(r.Dg, c.Dg, tol, "dg");
            Gpu.Parity(r.DState!, c.DState!, tol, "dS0");
        }
        finally
        {
            be.AllowTf32 = false;
        }
    }

    /// <summary>Keys N(0, 10²) (the CPU's LargeKeysStayFinite case): everything finite and equal to the CPU.</summary>
    [Test]
    public void AdditiveLargeKeys([Values(DType.Float32, DType.Float64)] DType dt, [Values(false, true)] bool tf32)
    {
        if (tf32 && dt == DType.Float64) Assert.Ignore("TF32 applies to float32 only");
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int B = 1, H = 2, T = 300, d = 8, e = 4;
        var q = Reference.Randn([B, H, T, d], dt, 311).Silu();
        var k = Reference.Randn([B, H, T, d], dt, 312) * 10;
        var v = Reference.Randn([B, H, T, e], dt, 313);
        var dO = Reference.Randn([B, H, T, e], dt, 314);
        var be = CudaBackend.For(0);
        be.AllowTf32 = tf32;
        try
        {
            var (o, _, _) = AdditiveAttention.CausalForward(q, k, v, 0.35);
            var (go, _, _) = AdditiveAttention.CausalForward(q.To(dev), k.To(dev), v.To(dev), 0.35);
            var c = AdditiveAttention.CausalBackward(q, k, v, 0.35, null, null, dO);
            var r = AdditiveAttention.CausalBackward(q.To(dev), k.To(dev), v.To(dev), 0.35, null, null, dO.To(dev));
            foreach (var t in new[] { go, r.Dq, r.Dk, r.Dv })
                Assert.That(t.ToDoubleArray().All(double.IsFinite), Is.True, "no NaN or inf on the GPU");
            double tol = tf32 ? Tf32Tol : Gpu.Tol(dt);
            Gpu.Parity(go, o, tol, "o");
            Gpu.Parity(r.Dq, c.Dq, tol, "dq");
            Gpu.Parity(r.Dk, c.Dk, tol, "dk");
            Gpu.Parity(r.Dv, c.Dv, tol, "dv");
        }
        finally
        {
            be.AllowTf32 = false;
        }
    }
}
