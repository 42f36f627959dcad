namespace LightNet.Tests;

public class TensorViewTests
{
    [Test]
    public void ReshapePermuteNarrowShareStorageAndIndexCorrectly()
    {
        var v = Enumerable.Range(0, 2 * 3 * 5).Select(i => (double)i).ToArray();
        using var t = Tensor.FromArray(v, [2, 3, 5]);
        using var p = t.Permute(2, 0, 1);
        Assert.That(p.Shape, Is.EqualTo(new Shape(5, 2, 3)));
        Assert.That(p.IsContiguous, Is.False);
        var pv = p.ToArray<double>();
        for (int i = 0; i < 5; i++) for (int j = 0; j < 2; j++) for (int k = 0; k < 3; k++)
            Assert.That(pv[(i * 2 + j) * 3 + k], Is.EqualTo(v[(j * 3 + k) * 5 + i]));
        using var n = t.Narrow(2, 1, 3);
        Assert.That(n.ToArray<double>()[0], Is.EqualTo(1));
        using var s = t.Slice(2, 0, 5, 2);
        Assert.That(s.ToArray<double>().Take(3), Is.EqualTo(new double[] { 0, 2, 4 }));
        using var sel = t.Select(1, 2);
        Assert.That(sel.Shape, Is.EqualTo(new Shape(2, 5)));
        Assert.That(sel.ToArray<double>()[0], Is.EqualTo(10));
        using var r = p.Reshape(10, 3);
        Assert.That(r.ToArray<double>(), Is.EqualTo(pv));
        using var e = Tensor.FromArray(new double[] { 1, 2, 3 }, [3, 1]).Expand(3, 4);
        Assert.That(e.ToArray<double>(), Is.EqualTo(new double[] { 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3 }));
        using var u = t.Unsqueeze(1);
        Assert.That(u.Shape, Is.EqualTo(new Shape(2, 1, 3, 5)));
        using var sq = u.Squeeze(1);
        Assert.That(sq.Shape, Is.EqualTo(t.Shape));
        using var f = t.Flip(2);
        Assert.That(f.ToArray<double>()[0], Is.EqualTo(4));
    }

    [Test]
    public void DTypeAndDeviceConversions()
    {
        using var t = Tensor.FromArray(new double[] { 1.5, -2.25, 3 }, [3]);
        using var f = t.To(DType.Float32);
        Assert.That(f.ToArray<float>(), Is.EqualTo(new float[] { 1.5f, -2.25f, 3f }));
        using var i = t.To(DType.Int64);
        Assert.That(i.ToArray<long>(), Is.EqualTo(new long[] { 1, -2, 3 }));
        using var bf = f.To(DType.BFloat16);
        using var back = bf.To(DType.Float32);
        Assert.That(back.ToArray<float>(), Is.EqualTo(new float[] { 1.5f, -2.25f, 3f }));
        Assert.Throws<InvalidOperationException>(() => t.To(Device.Cuda(7)));
    }

    [Test]
    public void CreationAndRandomAreReproducible()
    {
        using var a = Tensor.RandN([1001], new Generator(42));
        using var b = Tensor.RandN([1001], new Generator(42));
        Assert.That(a.ToArray<float>(), Is.EqualTo(b.ToArray<float>()));
        var v = a.ToDoubleArray();
        Assert.That(v.Average(), Is.EqualTo(0).Within(0.1));
        Assert.That(Math.Sqrt(v.Select(x => x * x).Average()), Is.EqualTo(1).Within(0.1));
        using var u = Tensor.Rand([1000], new Generator(1), DType.Float64, low: 2, high: 3);
        Assert.That(u.ToDoubleArray().All(x => x >= 2 && x < 3), Is.True);
        using var r = Tensor.Arange(0, 5, 1.5, DType.Float64);
        Assert.That(r.ToDoubleArray(), Is.EqualTo(new[] { 0, 1.5, 3, 4.5 }));
        using var full = Tensor.Full([2, 2], 7, DType.Int32);
        Assert.That(full.ToArray<int>(), Is.EqualTo(new[] { 7, 7, 7, 7 }));
    }

    [Test]
    public void BadShapesThrowNamedErrors()
    {
        using var a = Tensor.Zeros([2, 3]);
        using var b = Tensor.Zeros([4, 5]);
        var ex = Assert.Throws<ShapeException>(() => Tensor.Matmul(a, b));
        Assert.That(ex!.Message, Does.Contain("matmul").And.Contain("[2, 3]").And.Contain("[4, 5]"));
        ex = Assert.Throws<ShapeException>(() => { using var _ = a + b; });
        Assert.That(ex!.Message, Does.Contain("add").And.Contain("[2, 3]").And.Contain("[4, 5]"));
        ex = Assert.Throws<ShapeException>(() => a.Reshape(7));
        Assert.That(ex!.Message, Does.Contain("reshape"));
        ex = Assert.Throws<ShapeException>(() => a.Sum(5));
        Assert.That(ex!.Message, Does.Contain("axis 5"));
        using var d = Tensor.Zeros([2, 3], DType.Float64);
        ex = Assert.Throws<ShapeException>(() => { using var _ = a * d; });
        Assert.That(ex!.Message, Does.Contain("float64"));
        using var ids = Tensor.FromArray(new long[] { 0, 9 });
        Assert.Throws<ArgumentOutOfRangeException>(() => { using var _ = a.IndexSelect(0, ids); });
    }

    [Test]
    public void ScopeDisposesEverythingCreatedInside()
    {
        long before = MemoryStats.LiveTensors;
        Tensor kept;
        using (var s = DisposalScope.Begin())
        {
            using var x = Tensor.RandN([7, 9]);
            var y = x.Exp() + 1.0;
            var z = y.Sum();
            kept = s.Keep(z);
        }
        Assert.That(MemoryStats.LiveTensors, Is.EqualTo(before + 1));
        kept.Dispose();
        Assert.That(MemoryStats.LiveTensors, Is.EqualTo(before));
    }
}
