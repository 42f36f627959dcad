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
    private const double Tf32Tol = 1e-4;

    /// <summary>Gated attention with decays of <paramref name="decay"/> × log σ(x): 0.1 keeps every chunk factored, 1 makes the first chunks pairwise.</summary>
    [Test]
    public void GatedMultiTile([Values(0.1, 1.0)] double decay, [Values(DType.Float32, DType.Float64)] DType dt) => GatedMultiTileCase(decay, dt, tf32: false);

    /// <summary>As <see cref="GatedMultiTile"/> on TF32 tensor cores.</summary>
    [Test]
    public void GatedMultiTileTf32([Values(0.1, 1.0)] double decay) => GatedMultiTileCase(decay, DType.Float32, tf32: true);

    /// <summary>
    /// As <see cref="GatedMultiTile"/> and <see cref="AdditiveMultiTile"/> in float32 with dv formed 64 value columns at a
    /// time, the backward's path on GPUs whose multiprocessor cannot hold two blocks of the 128-column stages (A100,
    /// sm_86/89); on those GPUs it repeats the float32 cases.
    /// </summary>
    [Test]
    public void NarrowDvPath([Values] bool tf32)
    {
        Gpu.WithWideDv(CudaBackend.For(Gpu.Require().Index), false, () =>
        {
            GatedMultiTileCase(1.0, DType.Float32, tf32);
            AdditiveMultiTileCase(DType.Float32, tf32, keep: true);
        });
    }

    /// <summary>
    /// The 128-column dv is what the backward takes on Hopper (228 KB of shared memory per multiprocessor) for float32 and
    /// bfloat16 at d = 128 and d = 72, never for float64 or with <see cref="CudaBackend.AllowWideDv"/> off; on an sm_86/89 GPU (100 KB)
    /// never, so there the other tests run the 64-column path only.
    /// </summary>
    [Test]
    public void WideDvWhereTwoBlocksFit()
    {
        var be = CudaBackend.For(Gpu.Require().Index);
        bool hopper = be.Info.Major == 9;
        Assert.Multiple(() =>
        {
            if (hopper) Assert.That(be.WideDv(128, 4) && be.WideDv(72, 4), Is.True, "float at d = 128 / 72 on sm_90");
            if (be.Info.Major == 8 && be.Info.Minor >= 6) Assert.That(be.WideDv(128, 4), Is.False, "sm_86/89");
            Assert.That(be.WideDv(128, 8), Is.False, "float64");
        });
        Gpu.WithWideDv(be, false, () => Assert.That(be.WideDv(128, 4), Is.False, "AllowWideDv off"));
    }

    private static void GatedMultiTileCase(double decay, DType dt, bool tf32)
    {
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
        Gpu.WithTf32(CudaBackend.For(0), tf32, () =>
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
        });
    }

    /// <summary>
    /// The additive (LightNet) op over two 64-wide feature tiles (d = 72, e = 130; T = 176: a last chunk of 48 tokens, a
    /// 16-token segment boundary of the w recurrence), tokens-major as split from a projection, with an initial state, the
    /// forward's state kept or recomputed: the CPU within the dtype's bound.
    /// </summary>
    [Test]
    public void AdditiveMultiTile([Values(DType.Float32, DType.Float64)] DType dt, [Values] bool keep) => AdditiveMultiTileCase(dt, tf32: false, keep);

    /// <summary>As <see cref="AdditiveMultiTile"/> on TF32 tensor cores.</summary>
    [Test]
    public void AdditiveMultiTileTf32([Values] bool keep) => AdditiveMultiTileCase(DType.Float32, tf32: true, keep);

    /// <summary>
    /// As <see cref="AdditiveMultiTile"/> with d = 37 (not a multiple of 4): additive.cu's prep and dk take one feature per
    /// thread instead of four.
    /// </summary>
    [Test]
    public void AdditiveOddFeatures([Values(DType.Float32, DType.Float64)] DType dt) => AdditiveMultiTileCase(dt, tf32: false, keep: false, d: 37);

    private static void AdditiveMultiTileCase(DType dt, bool tf32, bool keep, int d = 72)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int B = 2, H = 2, T = 176, e = 130;
        var q = Reference.Randn([B, H, T, d], dt, 321).Silu();
        var k = Reference.Randn([B, H, T, d], dt, 322);
        var v = Reference.Randn([B, H, T, e], dt, 323);
        var s0 = Reference.Randn([B, H, d, e], dt, 324);
        var z0 = Reference.Randn([B, H, d], dt, 325);
        var dO = Reference.Randn([B, H, T, e], dt, 326);
        Tensor G(Tensor t) => t.To(dev);
        Tensor Split(Tensor t) => HeadLayoutTests.TokensMajor(t.To(dev)); // heads as split from a projection, on the GPU
        Gpu.WithTf32(CudaBackend.For(0), tf32, () =>
        {
            var (o, sT, zT) = AdditiveAttention.CausalForward(q, k, v, 0.3, s0, z0);
            var c = AdditiveAttention.CausalBackward(q, k, v, 0.3, s0, z0, dO);
            var (gq, gk, gv) = (Split(q), Split(k), Split(v));
            Assert.That(HeadLayouts.Of(gq), Is.EqualTo(HeadLayout.TokensMajor));
            using var saved = keep ? new AttentionSaved() : null;
            var (go, gsT, gzT) = AdditiveAttention.CausalForward(gq, gk, gv, 0.3, G(s0), G(z0), save: saved);
            var r = AdditiveAttention.CausalBackward(gq, gk, gv, 0.3, G(s0), G(z0), G(dO), saved: saved);
            double tol = tf32 ? Tf32Tol : Gpu.Tol(dt);
            Gpu.Parity(go, o, tol, "o");
            Gpu.Parity(gsT, sT, tol, "S_T");
            Gpu.Parity(gzT, zT, tol, "Z_T");
            Gpu.Parity(r.Dq, c.Dq, tol, "dq");
            Gpu.Parity(r.Dk, c.Dk, tol, "dk");
            Gpu.Parity(r.Dv, c.Dv, tol, "dv");
            Gpu.Parity(r.DS0!, c.DS0!, tol, "dS0");
            Gpu.Parity(r.DZ0!, c.DZ0!, tol, "dZ0");
        });
    }

    /// <summary>
    /// Keys N(0, 10²) (the CPU's LargeKeysStayFinite case): everything finite; float64 equal to the CPU, float32 as close to
    /// the float64 CPU result as the float32 CPU result is (4× its error, at least 1e-10), TF32 within its bound.
    /// </summary>
    [Test]
    public void AdditiveLargeKeys([Values(DType.Float32, DType.Float64)] DType dt) => AdditiveLargeKeysCase(dt, tf32: false);

    /// <summary>As <see cref="AdditiveLargeKeys"/> on TF32 tensor cores.</summary>
    [Test]
    public void AdditiveLargeKeysTf32() => AdditiveLargeKeysCase(DType.Float32, tf32: true);

    private static void AdditiveLargeKeysCase(DType dt, bool tf32)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int B = 1, H = 2, T = 300, d = 8, e = 4;
        var q = Reference.Randn([B, H, T, d], DType.Float64, 311).Silu();
        var k = Reference.Randn([B, H, T, d], DType.Float64, 312) * 10;
        var v = Reference.Randn([B, H, T, e], DType.Float64, 313);
        var dO = Reference.Randn([B, H, T, e], DType.Float64, 314);
        var (o, _, _) = AdditiveAttention.CausalForward(q, k, v, 0.35);
        var c = AdditiveAttention.CausalBackward(q, k, v, 0.35, null, null, dO);
        var (o32, _, _) = AdditiveAttention.CausalForward(q.To(dt), k.To(dt), v.To(dt), 0.35);
        var c32 = AdditiveAttention.CausalBackward(q.To(dt), k.To(dt), v.To(dt), 0.35, null, null, dO.To(dt));
        Gpu.WithTf32(CudaBackend.For(0), tf32, () =>
        {
            Tensor G(Tensor t) => t.To(dt).To(dev);
            var (go, _, _) = AdditiveAttention.CausalForward(G(q), G(k), G(v), 0.35);
            var r = AdditiveAttention.CausalBackward(G(q), G(k), G(v), 0.35, null, null, G(dO));
            foreach (var t in new[] { go, r.Dq, r.Dk, r.Dv })
                Assert.That(t.ToDoubleArray().All(double.IsFinite), Is.True, "no NaN or inf on the GPU");
            foreach (var (gpu, cpu, cpu32, what) in new[] { (go, o, o32, "o"), (r.Dq, c.Dq, c32.Dq, "dq"), (r.Dk, c.Dk, c32.Dk, "dk"), (r.Dv, c.Dv, c32.Dv, "dv") })
            {
                double cpuErr = Gpu.NormErr(cpu32.ToDoubleArray(), cpu.ToDoubleArray());
                double tol = tf32 ? Tf32Tol : dt == DType.Float64 ? Gpu.Tol(dt) : Math.Max(1e-10, 4 * cpuErr);
                var err = Gpu.NormErr(gpu.ToDoubleArray(), cpu.ToDoubleArray());
                Assert.That(err, Is.LessThanOrEqualTo(tol), $"{what}: normalised error {err:G3} against the float64 CPU > {tol:G3} (CPU {dt.Name()}: {cpuErr:G3})");
            }
        });
    }
}
