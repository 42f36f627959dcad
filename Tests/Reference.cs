namespace LightNet.Tests;

/// <summary>Plain float64 references and comparison helpers for tests.</summary>
internal static class Reference
{
    /// <summary>max|a − b| / max|b| (the golden-file metric), 0 when both are zero.</summary>
    public static double RelErr(double[] a, double[] b)
    {
        Assert.That(a, Has.Length.EqualTo(b.Length));
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (double.IsNaN(a[i]) != double.IsNaN(b[i])) return double.PositiveInfinity;
            if (double.IsNaN(a[i])) continue;
            if (double.IsInfinity(b[i]) || double.IsInfinity(a[i]))
            {
                if (a[i] != b[i]) return double.PositiveInfinity;
                continue;
            }
            num = Math.Max(num, Math.Abs(a[i] - b[i]));
            den = Math.Max(den, Math.Abs(b[i]));
        }
        return den == 0 ? num : num / den;
    }

    public static void Close(Tensor ours, double[] reference, double tol, string what = "")
    {
        var e = RelErr(ours.ToDoubleArray(), reference);
        Assert.That(e, Is.LessThanOrEqualTo(tol), $"{what}: relative error {e:G3} > {tol:G3}");
    }

    public static void Close(Tensor ours, Tensor reference, double tol, string what = "")
    {
        Assert.That(ours.Shape, Is.EqualTo(reference.Shape), what + " shape");
        Close(ours, reference.ToDoubleArray(), tol, what);
    }

    public static double Tol(DType t) => t == DType.Float64 ? 1e-12 : 2e-5;

    /// <summary>Random tensor with N(0,1) entries from a fixed seed.</summary>
    public static Tensor Randn(int[] shape, DType dtype = DType.Float64, ulong seed = 1) => Tensor.RandN(shape, new Generator(seed), dtype);

    /// <summary>A non-contiguous tensor with the same values: stored transposed, viewed back.</summary>
    public static Tensor NonContiguous(Tensor t)
    {
        if (t.Rank < 2) { using var two = Tensor.Concat([t, t]); return two.Slice(0, 0, 2 * t.Size(0), 2); }
        using var tr = t.Transpose(0, t.Rank - 1);
        using var c = tr.Contiguous();
        return c.Transpose(0, t.Rank - 1);
    }

    /// <summary>Row-major multi-index of flat index i.</summary>
    public static int[] Unravel(long i, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--) { idx[d] = (int)(i % shape[d]); i /= shape[d]; }
        return idx;
    }

    public static long Ravel(int[] idx, int[] shape)
    {
        long r = 0;
        for (int d = 0; d < shape.Length; d++) r = r * shape[d] + idx[d];
        return r;
    }
}
