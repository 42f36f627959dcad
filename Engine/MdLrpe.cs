namespace LightNet;

/// <summary>
/// MD-LRPE (SPEC §2): fixed rotation angles Θ for tokens on a k-dimensional grid and the expansion
/// <c>LRPE(x) = [x ⊙ cos Θ, x ⊙ sin Θ]</c> (d → 2d, cosine features first).
/// </summary>
public static class MdLrpe
{
    /// <summary>The default frequency base.</summary>
    public const double DefaultBase = 10000.0;

    /// <summary>
    /// Angles Θ [tokens, headDim] for token positions <c>offset … offset+tokens−1</c> of a sequence made of
    /// <paramref name="nExtra"/> leading extra tokens (Θ = 0) followed by the grid tokens in row-major order.
    /// <c>m = ceil(d/k)</c>, <c>θ_r = base^(−r/m)</c>, feature j on axis <c>floor(j/m)</c> with frequency
    /// <c>θ_(j mod m)</c>; coordinates are 0-based. <paramref name="tokens"/> defaults to <c>nExtra + Π grid</c>;
    /// positions past the grid continue along the first axis (decoding beyond the grid).
    /// </summary>
    public static Tensor Angles(int[] grid, int headDim, int nExtra = 0, double base_ = DefaultBase, int offset = 0,
        int? tokens = null, DType dtype = DType.Float64, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(grid);
        if (grid.Length == 0 || grid.Any(n => n <= 0)) throw new ShapeException($"md_lrpe_angles: 'grid' must have k ≥ 1 positive sizes, got {Shape.Format(grid)}");
        if (headDim <= 0) throw new ShapeException($"md_lrpe_angles: 'headDim' must be positive, got {headDim}");
        if (nExtra < 0) throw new ShapeException($"md_lrpe_angles: 'nExtra' must be ≥ 0, got {nExtra}");
        if (offset < 0) throw new ShapeException($"md_lrpe_angles: 'offset' must be ≥ 0, got {offset}");
        if (!(base_ > 0) || double.IsInfinity(base_)) throw new ShapeException($"md_lrpe_angles: 'base' must be a positive finite number, got {base_}");
        if (!dtype.IsFloating() || dtype == DType.BFloat16) throw new ShapeException($"md_lrpe_angles: dtype must be float32 or float64, got {dtype.Name()}");
        long gridTokens = 1;
        foreach (var n in grid) gridTokens *= n;
        int t = tokens ?? checked((int)(nExtra + gridTokens));
        if (t < 0) throw new ShapeException($"md_lrpe_angles: 'tokens' must be ≥ 0, got {t}");

        int k = grid.Length, m = (headDim + k - 1) / k;
        var theta = new double[m];
        for (int r = 0; r < m; r++) theta[r] = Math.Pow(base_, -(double)r / m);
        var values = new double[(long)t * headDim];
        var coord = new long[k];
        for (int i = 0; i < t; i++)
        {
            long s = (long)i + offset - nExtra;
            if (s < 0) continue; // extra token: Θ = 0
            for (int a = k - 1; a > 0; a--) { coord[a] = s % grid[a]; s /= grid[a]; }
            coord[0] = s;
            for (int j = 0; j < headDim; j++) values[(long)i * headDim + j] = coord[j / m] * theta[j % m];
        }
        using var host = Tensor.FromArray(values, [t, headDim]);
        using var typed = host.To(dtype);
        return typed.To(device ?? Device.Cpu);
    }

    /// <summary><c>[x ⊙ cos Θ, x ⊙ sin Θ]</c> for x [.., T, d] and angles [T, d]; returns [.., T, 2d].</summary>
    public static Tensor Apply(Tensor x, Tensor angles)
    {
        var (xc, ac) = Prepare("md_lrpe", x, angles, x.Size(-1), "x");
        using (xc)
        using (ac)
        {
            var dims = x.Shape.ToArray();
            dims[^1] *= 2;
            var y = Tensor.Empty(dims, x.DType, x.Device);
            if (y.Numel > 0) x.Backend.Lrpe(xc, ac, y);
            return y;
        }
    }

    /// <summary>Gradient of <see cref="Apply"/>: <c>dx = dy[..,:d] ⊙ cos Θ + dy[..,d:] ⊙ sin Θ</c>.</summary>
    public static Tensor Backward(Tensor dy, Tensor angles)
    {
        if (dy.Rank >= 1 && dy.Size(-1) % 2 != 0) throw new ShapeException($"md_lrpe_backward: 'dy' {dy.Shape} must have an even last axis (2d)");
        var (gc, ac) = Prepare("md_lrpe_backward", dy, angles, dy.Rank >= 1 ? dy.Size(-1) / 2 : 0, "dy");
        using (gc)
        using (ac)
        {
            var dims = dy.Shape.ToArray();
            dims[^1] /= 2;
            var dx = Tensor.Empty(dims, dy.DType, dy.Device);
            if (dx.Numel > 0) dy.Backend.LrpeBackward(gc, ac, dx);
            return dx;
        }
    }

    private static (Tensor X, Tensor Angles) Prepare(string op, Tensor x, Tensor angles, int d, string name)
    {
        x.RequireFloating(op, name);
        angles.RequireFloating(op, "angles");
        Tensor.SameDevice(op, x, angles, name, "angles");
        if (x.Rank < 2) throw new ShapeException($"{op}: '{name}' must be [.., T, d], got {x.Shape}");
        int t = x.Size(-2);
        if (angles.Rank != 2 || angles.Size(0) != t || angles.Size(1) != d)
            throw new ShapeException($"{op}: 'angles' {angles.Shape} must be [{t}, {d}] to match '{name}' {x.Shape}");
        using var a = angles.To(x.DType);
        return (x.Contiguous(), a.Contiguous());
    }
}
