using LightNet.Kernels.Cuda;

namespace LightNet.Tests;

[Category("Cuda")]
public class CudaMatmulTests
{
    private static IEnumerable<(int[] A, int[] B, bool TransA, bool TransB)> Cases()
    {
        yield return ([65, 47], [47, 81], false, false);
        yield return ([3, 65, 47], [3, 47, 81], true, false);
        yield return ([3, 65, 47], [47, 81], false, true);
        yield return ([2, 1, 9, 130], [4, 130, 7], true, true);
        yield return ([47], [47, 5], false, false);
        yield return ([5, 1, 47], [47], false, false);
        yield return ([1, 1], [1, 300], false, false);
        yield return ([2, 300, 77], [77, 261], true, true); // several 128 × 128 tiles of the tensor-core fallback
    }

    [Test]
    public void MatmulMatchesCpu([Values(true, false)] bool cublas, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        var be = CudaBackend.For(dev.Index);
        Gpu.WithCublas(be, cublas, () =>
        {
            using var s = DisposalScope.Begin();
            ulong seed = 111;
            foreach (var (sa, sb, ta, tb) in Cases())
            {
                var a = Reference.Randn(sa, dt, seed++);
                var b = Reference.Randn(sb, dt, seed++);
                // Transposed storage: the same values reached through swapped strides.
                var ga = ta && sa.Length >= 2 ? a.Transpose().Contiguous().To(dev).Transpose() : a.To(dev);
                var gb = tb && sb.Length >= 2 ? b.Transpose().Contiguous().To(dev).Transpose() : b.To(dev);
                Gpu.Parity(Tensor.Matmul(ga, gb), Tensor.Matmul(a, b), Gpu.Tol(dt), $"matmul {string.Join('x', sa)}·{string.Join('x', sb)} transA={ta} transB={tb} cublas={cublas}");
            }
            var x = Reference.Randn([2, 33, 17], dt, 120);
            var y = Reference.Randn([2, 17, 29], dt, 121);
            var c = Reference.Randn([2, 33, 29], dt, 122);
            var gc = c.To(dev);
            Tensor.MatmulInto(x, y, c, accumulate: true);
            Tensor.MatmulInto(x.To(dev), Gpu.Strided(y.To(dev)), gc, accumulate: true);
            Gpu.Parity(gc, c, Gpu.Tol(dt), "matmul accumulate");
            var z = Tensor.Zeros([2, 33, 0], dt);
            var e = Tensor.Zeros([2, 0, 29], dt);
            Gpu.Parity(Tensor.Matmul(z.To(dev), e.To(dev)), Tensor.Matmul(z, e), 0, "k = 0");
        });
    }

    /// <summary>
    /// Float32 products in a rounded mode over every layout case (plus <paramref name="extra"/>): the normalised error
    /// within <paramref name="bound"/>, and above <paramref name="floor"/> where <paramref name="rounded"/> says the
    /// operands must have been rounded (not silently float32).
    /// </summary>
    private static void RoundedProducts(Device dev, string mode, ulong seed, double bound, double floor, Func<int[], bool> rounded,
        params (int[] A, int[] B, bool TransA, bool TransB)[] extra)
    {
        foreach (var (sa, sb, ta, tb) in Cases().Concat(extra))
        {
            var a = Reference.Randn(sa, DType.Float32, seed++);
            var b = Reference.Randn(sb, DType.Float32, seed++);
            var ga = ta && sa.Length >= 2 ? a.Transpose().Contiguous().To(dev).Transpose() : a.To(dev);
            var gb = tb && sb.Length >= 2 ? b.Transpose().Contiguous().To(dev).Transpose() : b.To(dev);
            double e = Gpu.NormErr(Tensor.Matmul(ga, gb).ToDoubleArray(), Tensor.Matmul(a, b).ToDoubleArray());
            string what = $"{mode} matmul {string.Join('x', sa)}·{string.Join('x', sb)} transA={ta} transB={tb}";
            Assert.That(e, Is.LessThanOrEqualTo(bound), what);
            if (rounded(sa)) Assert.That(e, Is.GreaterThan(floor), what + ": not rounded");
            TestContext.Out.WriteLine($"{what}: normalised error {e:G3}");
        }
    }

    /// <summary>TF32 products (cuBLAS, or the own tensor-core kernel without it): every layout case within the stated bound, and rounded.</summary>
    [Test]
    public void Tf32IsOffByDefaultAndLooserWhenOn([Values(true, false)] bool cublas)
    {
        var dev = Gpu.Require();
        var be = CudaBackend.For(dev.Index);
        Gpu.WithCublas(be, cublas, () =>
        {
            using var s = DisposalScope.Begin();
            Assert.That(be.AllowTf32, Is.False);
            // cuBLAS may keep small products in float32; the own kernel always rounds
            Gpu.WithTf32(be, true, () =>
                RoundedProducts(dev, $"tf32 cublas={cublas}", 130, 1e-5, 1e-12, sa => !cublas && sa[^1] >= 64, ([256, 512], [512, 256], false, false)));
        });
    }

    /// <summary>bfloat16 products: every layout case within the stated bound, and measurably rounded (not silently float32).</summary>
    [Test]
    public void Bf16ProductsAreBoundedAndReallyRounded([Values(true, false)] bool cublas)
    {
        var dev = Gpu.Require();
        var be = CudaBackend.For(dev.Index);
        Gpu.WithCublas(be, cublas, () => Bf16Products(dev, be));
    }

    private static void Bf16Products(Device dev, CudaBackend be)
    {
        using var s = DisposalScope.Begin();
        Assert.That(be.AllowBf16, Is.False);
        be.AllowBf16 = true;
        try
        {
            RoundedProducts(dev, "bf16", 140, 1e-4, 1e-9, sa => sa.Length > 1 && sa[^1] > 1);
            var x = Reference.Randn([2, 33, 17], DType.Float32, 150);
            var y = Reference.Randn([17, 29], DType.Float32, 151);
            var c = Reference.Randn([2, 33, 29], DType.Float32, 152);
            var gc = c.To(dev);
            Tensor.MatmulInto(x, y.Unsqueeze(0).Expand([2, 17, 29]), c, accumulate: true);
            Tensor.MatmulInto(x.To(dev), y.To(dev).Unsqueeze(0).Expand([2, 17, 29]), gc, accumulate: true);
            Assert.That(Gpu.NormErr(gc.ToDoubleArray(), c.ToDoubleArray()), Is.LessThanOrEqualTo(1e-4), "bf16 accumulate into C with a broadcast batch");
        }
        finally { be.AllowBf16 = false; }
    }
}
