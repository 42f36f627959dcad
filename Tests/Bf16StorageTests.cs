using LightNet.Autograd;
using LightNet.Kernels.Cuda;

namespace LightNet.Tests;

/// <summary>
/// bfloat16 storage in the attention op (float32 kernels between conversions) and in CUDA matrix products (bf16 tensor
/// cores, float32 accumulation): results are the float32 results on the same bf16 values, rounded once.
/// </summary>
[Category("Kernels")]
public class Bf16StorageTests
{
    private static Tensor Bf16(Tensor x, Device dev)
    {
        using var r = x.To(DType.BFloat16);
        return r.To(dev);
    }

    private static Tensor F32(Tensor x)
    {
        using var c = x.To(Device.Cpu);
        return c.To(DType.Float32);
    }

    /// <summary>Causal attention on bf16 q, k, v (tokens-major, as split from a projection) equals the float32 op on the same values, rounded to bf16 (the state kept in float32).</summary>
    [Test]
    public void CpuAttentionOnBf16EqualsRoundedFloat32() => AttentionOnBf16(Device.Cpu, exact: true, 8, 12, 70, tokensMajor: true, tf32: false, keep: false, state: false);

    /// <summary>
    /// Shapes (d, e, T) for the CUDA kernels that read bfloat16 themselves: single elements (e = 12) with a last chunk of 22
    /// tokens; 16-byte pieces with a last chunk of 32 (a segment boundary of the w recurrence at the chunk's end); two
    /// feature tiles (d = 72) with 22; one chunk of 50 tokens over two feature tiles; d = 37 (additive.cu's prep and dk one
    /// feature per thread, not four).
    /// </summary>
    private static readonly int[][] Bf16Shapes = [[8, 12, 150], [40, 72, 160], [72, 72, 150], [72, 12, 50], [37, 40, 150]];

    /// <summary>
    /// The CUDA kernels read bfloat16 q, k, v, dO and write bfloat16 o, dq, dk, dv themselves (float32 inside): with exact
    /// products the float32 CPU op on the same values rounded once (up to a rare last-bit tie), with TF32 within its bound;
    /// heads-major or tokens-major, the forward's state kept or recomputed, an initial state (float32) on the larger shapes.
    /// </summary>
    [Test]
    [Category("Cuda")]
    public void CudaAttentionOnBf16MatchesFloat32([ValueSource(nameof(Bf16Shapes))] int[] shape, [Values(false, true)] bool tokensMajor,
        [Values(false, true)] bool tf32, [Values(false, true)] bool keep)
    {
        var dev = Gpu.Require();
        Gpu.WithTf32(CudaBackend.For(dev.Index), tf32, () => AttentionOnBf16(dev, exact: false, shape[0], shape[1], shape[2], tokensMajor, tf32, keep, state: shape[0] >= 40));
    }

    /// <summary>
    /// As <see cref="CudaAttentionOnBf16MatchesFloat32"/> with dv formed 64 value columns at a time (the backward's path where
    /// two blocks of the 128-column stages do not fit a multiprocessor), on the shape with two value tiles.
    /// </summary>
    [Test]
    [Category("Cuda")]
    public void CudaAttentionOnBf16NarrowDv([Values(false, true)] bool tf32)
    {
        var dev = Gpu.Require();
        var be = CudaBackend.For(dev.Index);
        Gpu.WithWideDv(be, false, () => Gpu.WithTf32(be, tf32, () => AttentionOnBf16(dev, exact: false, 72, 72, 150, tokensMajor: true, tf32, keep: true, state: true)));
    }

    /// <summary>Keys N(0, 10²) on bfloat16 (the chunks' decays exceed the factored form's range: the pairwise paths), TF32 on and off.</summary>
    [Test]
    [Category("Cuda")]
    public void CudaAttentionOnBf16LargeKeys([Values(false, true)] bool tf32)
    {
        var dev = Gpu.Require();
        Gpu.WithTf32(CudaBackend.For(dev.Index), tf32, () => AttentionOnBf16(dev, exact: false, 40, 72, 150, tokensMajor: true, tf32, keep: true, state: false, keyScale: 10));
    }

    private static void AttentionOnBf16(Device dev, bool exact, int d, int e, int T, bool tokensMajor, bool tf32, bool keep, bool state, double keyScale = 1)
    {
        using var s = DisposalScope.Begin();
        int B = 2, H = 3;
        // the layout is made on the device: moving a tensor packs it
        Tensor In(Tensor x) { var b = Bf16(x, dev); return tokensMajor ? HeadLayoutTests.TokensMajor(b) : b; }
        var q = In(Reference.Randn([B, H, T, d], DType.Float32, 401).Silu());
        var k = In(Reference.Randn([B, H, T, d], DType.Float32, 402) * keyScale);
        var v = In(Reference.Randn([B, H, T, e], DType.Float32, 403));
        var dO = Bf16(Reference.Randn([B, H, T, e], DType.Float32, 404), dev);
        Assert.That(HeadLayouts.Of(q), Is.EqualTo(tokensMajor ? HeadLayout.TokensMajor : HeadLayout.HeadsMajor), "q's layout");
        var s0f = state ? Reference.Randn([B, H, d, e], DType.Float32, 405) : null;
        var z0f = state ? Reference.Randn([B, H, d], DType.Float32, 406) : null;
        var s0 = s0f?.To(dev); var z0 = z0f?.To(dev);
        var (qf, kf, vf, dOf) = (F32(q), F32(k), F32(v), F32(dO));
        using var saved = keep ? new AttentionSaved() : null;
        var (o, sT, zT) = AdditiveAttention.CausalForward(q, k, v, 0.4, s0, z0, save: saved);
        Assert.That(o.DType, Is.EqualTo(DType.BFloat16));
        var (of, sTf, zTf) = AdditiveAttention.CausalForward(qf, kf, vf, 0.4, s0f, z0f);
        var r = AdditiveAttention.CausalBackward(q, k, v, 0.4, s0, z0, dO, saved: saved);
        var rf = AdditiveAttention.CausalBackward(qf, kf, vf, 0.4, s0f, z0f, dOf);
        double tol = tf32 ? 1e-4 : keyScale > 1 ? 1e-8 : 1e-10;
        // The final state stays float32 (a state carried to the next call is not rounded): the float32 op's state on the same values.
        var states = new List<(Tensor?, Tensor?, string)> { (sT, sTf, "S_T"), (zT, zTf, "Z_T") };
        if (state) states.AddRange([(r.DS0, rf.DS0, "dS0"), (r.DZ0, rf.DZ0, "dZ0")]);
        foreach (var (a, b, what) in states)
        {
            Assert.That(a!.DType, Is.EqualTo(DType.Float32), what);
            Assert.That(Gpu.NormErr(F32(a).ToDoubleArray(), F32(b!).ToDoubleArray()), Is.LessThanOrEqualTo(exact ? 0 : tol), what);
        }
        foreach (var (a, b, what) in new[] { (o, of, "o"), (r.Dq, rf.Dq, "dq"), (r.Dk, rf.Dk, "dk"), (r.Dv, rf.Dv, "dv") })
        {
            Assert.That(a.DType, Is.EqualTo(DType.BFloat16), what);
            Assert.That(HeadLayouts.Of(a), Is.EqualTo(what == "o" || what == "dv" ? HeadLayouts.Of(v) : HeadLayouts.Of(q)), what + " layout");
            using var ours = F32(a);
            using var rounded = b.To(DType.BFloat16);
            using var want = rounded.To(DType.Float32);
            if (exact) Assert.That(ours.ToDoubleArray(), Is.EqualTo(want.ToDoubleArray()), what);
            // exact float32 products: the rounded float32 result but for last-bit ties (the GPU sums in another order);
            // TF32: its error on top of the rounding (about 1.3e-6 normalised)
            else if (!tf32) Assert.That(Gpu.NormErr(ours.ToDoubleArray(), want.ToDoubleArray()), Is.LessThanOrEqualTo(1e-6), what);
            else Assert.That(Gpu.NormErr(ours.ToDoubleArray(), b.ToDoubleArray()), Is.LessThanOrEqualTo(keyScale > 1 ? 1e-4 : 2e-5), what);
        }
    }

    /// <summary>bfloat16 operands with float32 states only: a bfloat16 initial state or final-state tensor is refused naming the argument.</summary>
    [Test]
    [Category("Cuda")]
    public void CudaAttentionOnBf16RefusesBf16States()
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Bf16(Reference.Randn([1, 2, 20, 8], DType.Float32, 407), dev);
        var o = x.EmptyLike();
        var sT = Tensor.Empty([1, 2, 8, 8], DType.BFloat16, dev);
        var zT = Tensor.Empty([1, 2, 8], DType.Float32, dev);
        var ex = Assert.Throws<ShapeException>(() => x.Backend.AdditiveCausalForward(x, x, x, 0.5, null, null, o, sT, zT, 64));
        Assert.That(ex!.Message, Does.Contain("sT").And.Contain("float32"));
    }

    /// <summary>Through autograd (heads as split from a projection) the gradients of bf16 leaves are the float32 gradients rounded to bf16.</summary>
    [Test]
    public void AutogradAttentionOnBf16Leaves()
    {
        using var s = DisposalScope.Begin();
        int B = 1, H = 2, T = 33, d = 4;
        Variable[] Leaves(DType dt) => [.. Enumerable.Range(0, 3).Select(i =>
        {
            using var x = HeadLayoutTests.TokensMajor(Reference.Randn([B, H, T, d], DType.Float32, 411 + (ulong)i));
            using var r = x.To(DType.BFloat16);
            return new Variable(r.To(dt), requiresGrad: true);
        })];
        var l16 = Leaves(DType.BFloat16);
        var l32 = Leaves(DType.Float32);
        var dO = Reference.Randn([B, H, T, d], DType.Float32, 415).To(DType.BFloat16);
        foreach (var l in new[] { l16, l32 })
        {
            var o = AttentionOps.AdditiveCausal(l[0], l[1], l[2], 0.5);
            Assert.That(o.DType, Is.EqualTo(l[0].DType));
            using var g = dO.To(l[0].DType);
            o.Backward(g);
        }
        for (int i = 0; i < 3; i++)
        {
            Assert.That(l16[i].Grad!.DType, Is.EqualTo(DType.BFloat16));
            using var rounded = l32[i].Grad!.To(DType.BFloat16);
            Assert.That(l16[i].Grad!.ToDoubleArray(), Is.EqualTo(rounded.ToDoubleArray()), "d" + "qkv"[i]);
        }
    }

    [Test]
    [Category("Cuda")]
    public void CudaMatmulOnBf16Storage([Values(false, true)] bool accumulate, [Values(false, true)] bool transposed, [Values(true, false)] bool cublas)
    {
        var dev = Gpu.Require();
        // without cuBLAS: gemm.cu's bf16 tensor-core kernel
        Gpu.WithCublas(CudaBackend.For(dev.Index), cublas, () => MatmulOnBf16Storage(dev, accumulate, transposed));
    }

    private static void MatmulOnBf16Storage(Device dev, bool accumulate, bool transposed)
    {
        using var s = DisposalScope.Begin();
        int batch = 3, m = 137, k = 45, n = 129;
        var a = Bf16(Reference.Randn([batch, m, k], DType.Float32, 421), dev);
        var b = transposed ? Bf16(Reference.Randn([batch, n, k], DType.Float32, 422), dev).Transpose(1, 2) : Bf16(Reference.Randn([batch, k, n], DType.Float32, 422), dev);
        var c0 = Bf16(Reference.Randn([batch, m, n], DType.Float32, 423), dev);
        var c = c0.Clone();
        Tensor.MatmulInto(a, b, c, accumulate);
        Assert.That(c.DType, Is.EqualTo(DType.BFloat16));
        var want = Tensor.Matmul(F32(a), F32(b));
        if (accumulate) want = want + F32(c0);
        Assert.That(Gpu.NormErr(F32(c).ToDoubleArray(), want.ToDoubleArray()), Is.LessThanOrEqualTo(1e-4));
    }
}
