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
    public void CpuAttentionOnBf16EqualsRoundedFloat32() => AttentionOnBf16(Device.Cpu, exact: true);

    [Test]
    [Category("Cuda")]
    public void CudaAttentionOnBf16MatchesFloat32() => AttentionOnBf16(Gpu.Require(), exact: false);

    private static void AttentionOnBf16(Device dev, bool exact)
    {
        using var s = DisposalScope.Begin();
        int B = 2, H = 3, T = 70, d = 8, e = 12;
        var q = Bf16(HeadLayoutTests.TokensMajor(Reference.Randn([B, H, T, d], DType.Float32, 401).Silu()), dev);
        var k = Bf16(HeadLayoutTests.TokensMajor(Reference.Randn([B, H, T, d], DType.Float32, 402)), dev);
        var v = Bf16(HeadLayoutTests.TokensMajor(Reference.Randn([B, H, T, e], DType.Float32, 403)), dev);
        var dO = Bf16(Reference.Randn([B, H, T, e], DType.Float32, 404), dev);
        var (qf, kf, vf, dOf) = (F32(q), F32(k), F32(v), F32(dO));
        var (o, sT, zT) = AdditiveAttention.CausalForward(q, k, v, 0.4);
        Assert.That(o.DType, Is.EqualTo(DType.BFloat16));
        var (of, sTf, zTf) = AdditiveAttention.CausalForward(qf, kf, vf, 0.4);
        var r = AdditiveAttention.CausalBackward(q, k, v, 0.4, null, null, dO);
        var rf = AdditiveAttention.CausalBackward(qf, kf, vf, 0.4, null, null, dOf);
        // The final state stays float32 (a state carried to the next call is not rounded): the float32 op's state on the same values.
        foreach (var (a, b, what) in new[] { (sT, sTf, "S_T"), (zT, zTf, "Z_T") })
        {
            Assert.That(a.DType, Is.EqualTo(DType.Float32), what);
            Assert.That(Gpu.NormErr(F32(a).ToDoubleArray(), F32(b).ToDoubleArray()), Is.LessThanOrEqualTo(exact ? 0 : 1e-10), what);
        }
        foreach (var (a, b, what) in new[] { (o, of, "o"), (r.Dq, rf.Dq, "dq"), (r.Dk, rf.Dk, "dk"), (r.Dv, rf.Dv, "dv") })
        {
            Assert.That(a.DType, Is.EqualTo(DType.BFloat16), what);
            using var ours = F32(a);
            using var rounded = b.To(DType.BFloat16);
            using var want = rounded.To(DType.Float32);
            if (exact) Assert.That(ours.ToDoubleArray(), Is.EqualTo(want.ToDoubleArray()), what);
            else Assert.That(Gpu.NormErr(ours.ToDoubleArray(), b.ToDoubleArray()), Is.LessThanOrEqualTo(1e-4), what);
        }
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
