namespace LightNet.Tests;

[Category("Cuda")]
public class CudaIndexNormTests
{
    /// <summary>The tiled index_add (wide rows, long index): several row and column tiles, duplicates, outer > 1, a bad index.</summary>
    [Test]
    public void WideIndexAddMatchesCpu([Values(DType.Float32, DType.Float64)] DType dt, [Values(1, 3)] int outer)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int n = 1100, inner = 300, m = 700;
        var ids = new long[m];
        for (int j = 0; j < m; j++) ids[j] = (j * 37 + j / 3) % n;
        ids[5] = ids[600] = ids[699] = 1099; // the same row three times, in the last row tile
        var idx = Tensor.FromArray(ids);
        var src = Reference.Randn([outer, m, inner], dt, 95);
        var cpu = Tensor.IndexAdd([outer, n, inner], 1, idx, src);
        var gpu = Tensor.IndexAdd([outer, n, inner], 1, idx.To(dev), Gpu.Strided(src.To(dev)));
        Gpu.Parity(gpu, cpu, Gpu.Tol(dt), "wide index_add");
        var table = Reference.Randn([n, inner], DType.Float32, 96);
        var tok = Tensor.FromArray(ids.Take(690).ToArray(), [10, 69]);
        var gt = new Autograd.Variable(table.To(dev), requiresGrad: true);
        var ct = new Autograd.Variable(table, requiresGrad: true);
        Autograd.Variable.Embedding(gt, tok.To(dev)).Sum().Backward();
        Autograd.Variable.Embedding(ct, tok).Sum().Backward();
        Gpu.Parity(gt.Grad!, ct.Grad!, 0, "embedding backward");
        ids[650] = n;
        var bad = Tensor.FromArray(ids).To(dev);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.IndexAdd([outer, n, inner], 1, bad, src.To(dev)));
        Assert.That(e!.Message, Does.Contain($"index_add: index {n} is out of range for an axis of size {n}"));
    }

    [Test]
    public void RmsNormGateForwardBackwardMatchCpu([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Reference.Randn([67, 301], dt, 97);
        var w = Reference.Randn([301], dt, 98);
        var u = Reference.Randn([67, 301], dt, 99) * 3;
        var dy = Reference.Randn([67, 301], dt, 100);
        var (y, rstd) = Tensor.RmsNormGate(x, w, u, 1e-6);
        var (gy, grstd) = Tensor.RmsNormGate(Gpu.Strided(x.To(dev)), w.To(dev), u.To(dev), 1e-6);
        Gpu.Parity(gy, y, Gpu.Tol(dt), "rms_norm_gate y");
        Gpu.Parity(grstd, rstd, Gpu.Tol(dt), "rms_norm_gate rstd");
        var (dx, dw, du) = Tensor.RmsNormGateBackward(x, w, u, rstd, dy);
        var (gdx, gdw, gdu) = Tensor.RmsNormGateBackward(x.To(dev), w.To(dev), u.To(dev), grstd, dy.To(dev));
        Gpu.Parity(gdx, dx, Gpu.Tol(dt), "rms_norm_gate dx");
        Gpu.Parity(gdw, dw, Gpu.Tol(dt), "rms_norm_gate dw");
        Gpu.Parity(gdu, du, Gpu.Tol(dt), "rms_norm_gate du");
    }

    [Test]
    public void IndexSelectAddGatherScatterMatchCpu([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var x = Reference.Randn([6, 41, 13], dt, 91);
        var gx = Gpu.Strided(x.To(dev));
        var idx = Tensor.FromArray(new long[] { 40, 0, 7, 7, 3, 39, 12 });
        var gidx = idx.To(dev);
        Gpu.Parity(gx.IndexSelect(1, gidx), x.IndexSelect(1, idx), 0, "index_select");
        var src = Reference.Randn([6, 7, 13], dt, 92);
        Gpu.Parity(Tensor.IndexAdd(x.Shape, 1, gidx, src.To(dev)), Tensor.IndexAdd(x.Shape, 1, idx, src), Gpu.Tol(dt), "index_add");

        var gi = new long[6 * 9 * 13];
        for (int i = 0; i < gi.Length; i++) gi[i] = (i * 17 + i / 5) % 41;
        var gidx3 = Tensor.FromArray(gi, [6, 9, 13]);
        Gpu.Parity(gx.Gather(1, gidx3.To(dev)), x.Gather(1, gidx3), 0, "gather");
        var src3 = Reference.Randn([6, 9, 13], dt, 93);
        Gpu.Parity(gx.ScatterAdd(1, gidx3.To(dev), src3.To(dev)), x.ScatterAdd(1, gidx3, src3), Gpu.Tol(dt), "scatter_add");

        var table = Reference.Randn([50, 24], DType.Float32, 94);
        var ids = Tensor.FromArray(new long[] { 3, 49, 0, 3, 17, 22 }, [2, 3]);
        Gpu.Parity(Tensor.Embedding(table.To(dev), ids.To(dev)), Tensor.Embedding(table, ids), 0, "embedding");
        var badIdx = Tensor.FromArray(new long[] { 1, 41 }).To(dev);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => gx.IndexSelect(1, badIdx));
        Assert.That(e!.Message, Does.Contain("index_select: index 41 is out of range for an axis of size 41"));
    }

    [Test]
    public void RmsNormAndLayerNormForwardBackward([Values(true, false)] bool affine, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        int rows = 301, n = 769;
        var x = Reference.Randn([rows, n], dt, 101) * 2 + 0.3;
        var dy = Reference.Randn([rows, n], dt, 102);
        var w = affine ? Reference.Randn([n], dt, 103) : null;
        var b = affine ? Reference.Randn([n], dt, 104) : null;
        var gx = Gpu.Strided(x.To(dev));
        var gdy = dy.To(dev);
        var gw = w?.To(dev);
        var gb = b?.To(dev);
        double tol = Gpu.Tol(dt);

        var (y, rstd) = Tensor.RmsNorm(x, w, 1e-6);
        var (gy, grstd) = Tensor.RmsNorm(gx, gw, 1e-6);
        Gpu.Parity(gy, y, tol, "rms_norm y");
        Gpu.Parity(grstd, rstd, tol, "rms_norm rstd");
        var (dx, dw) = Tensor.RmsNormBackward(x, w, rstd, dy);
        var (gdx, gdw) = Tensor.RmsNormBackward(gx, gw, grstd, gdy);
        Gpu.Parity(gdx, dx, tol, "rms_norm dx");
        if (affine) Gpu.Parity(gdw!, dw!, tol, "rms_norm dw");

        var (ly, mean, lrstd) = Tensor.LayerNorm(x, w, b, 1e-5);
        var (gly, gmean, glrstd) = Tensor.LayerNorm(gx, gw, gb, 1e-5);
        Gpu.Parity(gly, ly, tol, "layer_norm y");
        Gpu.Parity(gmean, mean, tol, "layer_norm mean");
        var (ldx, ldw, ldb) = Tensor.LayerNormBackward(x, w, affine, mean, lrstd, dy);
        var (gldx, gldw, gldb) = Tensor.LayerNormBackward(gx, gw, affine, gmean, glrstd, gdy);
        Gpu.Parity(gldx, ldx, tol, "layer_norm dx");
        if (affine)
        {
            Gpu.Parity(gldw!, ldw!, tol, "layer_norm dw");
            Gpu.Parity(gldb!, ldb!, tol, "layer_norm db");
        }
    }
}
