namespace LightNet.Tests;

[Category("Kernels")]
public class MatmulTests
{
    private static double[] RefMatmul(double[] a, double[] b, int batch, int m, int k, int n, bool aBatched, bool bBatched)
    {
        var c = new double[batch * m * n];
        for (int z = 0; z < batch; z++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                        s += a[(aBatched ? z * m * k : 0) + i * k + p] * b[(bBatched ? z * k * n : 0) + p * n + j];
                    c[(z * m + i) * n + j] = s;
                }
        return c;
    }

    [TestCase(1, 1, 1)]
    [TestCase(3, 5, 7)]
    [TestCase(13, 33, 17)]
    [TestCase(1, 300, 1)]
    [TestCase(999, 7, 3)]
    [TestCase(5, 600, 37)]
    [TestCase(31, 257, 65)]
    [TestCase(515, 519, 517)]
    public void MatchesNaiveFloat64Product(int m, int k, int n)
    {
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
            foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
            {
                using var s = DisposalScope.Begin();
                var a = Reference.Randn(ta ? [k, m] : [m, k], dt, 21);
                var b = Reference.Randn(tb ? [n, k] : [k, n], dt, 22);
                var av = ta ? a.Transpose() : a;
                var bv = tb ? b.Transpose() : b;
                var c = Tensor.Matmul(av, bv);
                var r = RefMatmul(av.ToDoubleArray(), bv.ToDoubleArray(), 1, m, k, n, false, false);
                Reference.Close(c, r, dt == DType.Float64 ? 1e-13 : 2e-6, $"{dt} ta={ta} tb={tb}");
            }
    }

    /// <summary>Operands that are windows of wider matrices (row stride larger than the row), across the packing depths of both ISAs and a k tail of 1–3.</summary>
    [TestCase(37, 389, 45)]
    [TestCase(25, 1030, 70)]
    public void MatchesNaiveProductOnStridedViews(int m, int k, int n)
    {
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
        {
            using var s = DisposalScope.Begin();
            var a = Reference.Randn([m + 2, k + 7], dt, 23).Narrow(0, 1, m).Narrow(1, 3, k);
            var b = Reference.Randn([k, n + 5], dt, 24).Narrow(1, 2, n);
            var c = Tensor.Matmul(a, b);
            var r = RefMatmul(a.ToDoubleArray(), b.ToDoubleArray(), 1, m, k, n, false, false);
            Reference.Close(c, r, dt == DType.Float64 ? 1e-12 : 4e-6, $"{dt}");
        }
    }

    /// <summary>The single-threaded products the attention kernels call (unpacked small path and packed path), A and B strided.</summary>
    [TestCase(13, 64, 64)]
    [TestCase(7, 48, 5)]
    [TestCase(64, 32, 64)]
    [TestCase(70, 16, 130)]
    [TestCase(9, 40, 3)]
    public unsafe void SerialProductMatchesNaive(int m, int n, int k)
    {
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
            foreach (var ta in new[] { false, true })
            {
                using var s = DisposalScope.Begin();
                var a = ta ? Reference.Randn([k, m + 3], dt, 25).Narrow(1, 1, m).Transpose() : Reference.Randn([m, k + 3], dt, 25).Narrow(1, 2, k);
                var b = Reference.Randn([k, n], dt, 26);
                var r = RefMatmul(a.ToDoubleArray(), b.ToDoubleArray(), 1, m, k, n, false, false);
                var c = Tensor.Zeros([m, n], dt);
                var acc = Reference.Randn([m, n], dt, 27);
                var accStart = acc.ToDoubleArray();
                long rsA = a.Strides[0], csA = a.Strides[1];
                foreach (var (dst, add) in new[] { (c, false), (acc, true) })
                    if (dt == DType.Float32) LightNet.Cpu.Gemm.Serial(a.Ptr<float>(), rsA, csA, b.Ptr<float>(), n, 1, dst.Ptr<float>(), n, m, n, k, add);
                    else LightNet.Cpu.Gemm.Serial(a.Ptr<double>(), rsA, csA, b.Ptr<double>(), n, 1, dst.Ptr<double>(), n, m, n, k, add);
                double tol = dt == DType.Float64 ? 1e-12 : 4e-6;
                Reference.Close(c, r, tol, $"{dt} ta={ta}");
                Reference.Close(acc, r.Select((x, i) => x + accStart[i]).ToArray(), tol, $"{dt} ta={ta} accumulate");
            }
    }

    [Test]
    public void BatchedWithBroadcastAndVectors()
    {
        using var s = DisposalScope.Begin();
        var a = Reference.Randn([3, 1, 5, 7], DType.Float64, 1);
        var b = Reference.Randn([4, 7, 2], DType.Float64, 2);
        var c = Tensor.Matmul(a, b);
        Assert.That(c.Shape, Is.EqualTo(new Shape(3, 4, 5, 2)));
        var av = a.ToDoubleArray(); var bv = b.ToDoubleArray(); var cv = c.ToDoubleArray();
        for (int x = 0; x < 3; x++) for (int y = 0; y < 4; y++)
        {
            var r = RefMatmul(av.Skip(x * 35).Take(35).ToArray(), bv.Skip(y * 14).Take(14).ToArray(), 1, 5, 7, 2, false, false);
            for (int i = 0; i < 10; i++) Assert.That(cv[(x * 4 + y) * 10 + i], Is.EqualTo(r[i]).Within(1e-12));
        }
        var v = Reference.Randn([7], DType.Float64, 3);
        var mv = Tensor.Matmul(Reference.Randn([5, 7], DType.Float64, 4), v);
        Assert.That(mv.Shape, Is.EqualTo(new Shape(5)));
        var dot = Tensor.Matmul(v, v);
        Assert.That(dot.Rank, Is.Zero);
        Assert.That(dot.Item(), Is.EqualTo(v.ToDoubleArray().Sum(t => t * t)).Within(1e-12));
    }

    [Test]
    public void ResultIsIndependentOfThreadCount()
    {
        using var s = DisposalScope.Begin();
        var a = Reference.Randn([300, 700], DType.Float32, 5);
        var b = Reference.Randn([700, 200], DType.Float32, 6);
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.Threads = 1;
            var one = Tensor.Matmul(a, b).ToArray<float>();
            Parallelism.Threads = 3;
            var three = Tensor.Matmul(a, b).ToArray<float>();
            Assert.That(three, Is.EqualTo(one));
        }
        finally { Parallelism.Threads = saved; }
    }
}
