namespace LightNet;

/// <summary>
/// How a [B, H, T, dim] attention operand lies in memory. <see cref="HeadsMajor"/> is the contiguous [B, H, T, dim]
/// tensor; <see cref="TokensMajor"/> is a contiguous [B, T, H, dim] tensor seen through <c>Permute(0, 2, 1, 3)</c>,
/// which is what splitting a projection's output [B, T, H·dim] into heads gives without a copy.
/// </summary>
public enum HeadLayout
{
    /// <summary>Contiguous [B, H, T, dim]: sequence b·H + h is one block of T rows.</summary>
    HeadsMajor,
    /// <summary>[B, T, H, dim] contiguous: the H heads of a token are adjacent, rows of one head H·dim apart.</summary>
    TokensMajor,
}

/// <summary>Recognising, allocating and converting tensors in a <see cref="HeadLayout"/>.</summary>
public static class HeadLayouts
{
    /// <summary>Strides (in elements) of a [B, H, T, dim] tensor in <paramref name="layout"/>.</summary>
    public static long[] Strides(HeadLayout layout, int h, int t, int dim) => layout == HeadLayout.HeadsMajor
        ? [(long)h * t * dim, (long)t * dim, dim, 1]
        : [(long)t * h * dim, dim, (long)h * dim, 1];

    /// <summary>The layout of a rank-4 tensor, or null when it is in neither (size-1 axes may have any stride).</summary>
    public static HeadLayout? Of(Tensor x)
    {
        if (x.Rank != 4) return null;
        foreach (var layout in new[] { HeadLayout.HeadsMajor, HeadLayout.TokensMajor })
        {
            var want = Strides(layout, x.Size(1), x.Size(2), x.Size(3));
            bool ok = true;
            for (int a = 0; a < 4 && ok; a++) ok = x.Size(a) == 1 || x.Strides[a] == want[a];
            if (ok) return layout;
        }
        return null;
    }

    /// <summary>The layout shared by the operands: the first one's when it has one, else heads-major.</summary>
    public static HeadLayout Common(Tensor first) => Of(first) ?? HeadLayout.HeadsMajor;

    /// <summary>An uninitialised [B, H, T, dim] tensor in <paramref name="layout"/>.</summary>
    public static Tensor Empty(HeadLayout layout, int b, int h, int t, int dim, DType dtype, Device device)
    {
        if (layout == HeadLayout.HeadsMajor) return Tensor.Empty([b, h, t, dim], dtype, device);
        using var bthd = Tensor.Empty([b, t, h, dim], dtype, device);
        return bthd.Permute(0, 2, 1, 3);
    }

    /// <summary>
    /// <paramref name="x"/> in <paramref name="layout"/> and <paramref name="dtype"/> (default: its own): a new reference when it
    /// already is, else a converted copy.
    /// </summary>
    public static Tensor In(Tensor x, HeadLayout layout, DType? dtype = null)
    {
        var dt = dtype ?? x.DType;
        if (Of(x) == layout && dt == x.DType) return x.Permute(0, 1, 2, 3);
        var y = Empty(layout, x.Size(0), x.Size(1), x.Size(2), x.Size(3), dt, x.Device);
        y.CopyFrom(x);
        return y;
    }

    /// <summary>
    /// <paramref name="x"/> itself when it has <paramref name="dtype"/>; else a copy converted to it in x's layout (rank 4) or
    /// contiguous, and x is disposed.
    /// </summary>
    public static Tensor Convert(Tensor x, DType dtype)
    {
        if (x.DType == dtype) return x;
        var y = x.Rank == 4 ? In(x, Common(x), dtype) : x.To(dtype);
        x.Dispose();
        return y;
    }

    /// <summary>A rank-4 tensor as contiguous [B·H, T, dim] sequences: a view when it is contiguous, else a copy.</summary>
    public static Tensor Sequences(Tensor x)
    {
        using var c = x.Contiguous();
        return c.View(-1, x.Size(2), x.Size(3));
    }
}
