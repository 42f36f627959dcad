namespace LightNet;

/// <summary>Algorithm of the MD-TPE Toeplitz application.</summary>
public enum ToeplitzAlgorithm
{
    /// <summary>Picked by <see cref="ToeplitzPlan.Resolve"/> from the sizes (cost-model crossover).</summary>
    Auto,
    /// <summary>Direct sum over all token pairs, O(B·N²·c).</summary>
    Direct,
    /// <summary>k-dimensional FFT of the zero-padded grid, O(B·c·M log M) with M = Π pow2(2n_a−1).</summary>
    Fft,
}

/// <summary>
/// Geometry and options of a multi-dimensional Toeplitz application (SPEC §3): grid <c>(n_1…n_k)</c>,
/// leading extra tokens that pass through, causal 1-D masking (<c>t_Δ = 0</c> for Δ &lt; 0), residual
/// (<c>X + Y</c>) or replace (<c>Y</c>) output, and the algorithm.
/// </summary>
public sealed class ToeplitzPlan
{
    /// <summary>Creates a plan, validating the grid and options.</summary>
    public ToeplitzPlan(int[] grid, int nExtra = 0, bool causal = false, bool residual = true, ToeplitzAlgorithm algorithm = ToeplitzAlgorithm.Auto)
    {
        ArgumentNullException.ThrowIfNull(grid);
        if (grid.Length == 0 || grid.Any(n => n <= 0)) throw new ShapeException($"toeplitz: 'grid' must have k ≥ 1 positive sizes, got {Shape.Format(grid)}");
        if (nExtra < 0) throw new ShapeException($"toeplitz: 'nExtra' must be ≥ 0, got {nExtra}");
        if (causal && grid.Length != 1) throw new ShapeException($"toeplitz: causal mode is defined for a 1-D grid only, got grid {Shape.Format(grid)}");
        Grid = (int[])grid.Clone();
        NExtra = nExtra;
        Causal = causal;
        Residual = residual;
        Algorithm = algorithm;
        long n = 1;
        foreach (var s in grid) n *= s;
        Tokens = checked((int)n);
        KernelGrid = grid.Select(s => 2 * s - 1).ToArray();
        long kn = 1;
        foreach (var s in KernelGrid) kn *= s;
        Offsets = checked((int)kn);
    }

    /// <summary>Grid sizes <c>(n_1…n_k)</c>.</summary>
    public int[] Grid { get; }
    /// <summary>Number of leading extra tokens (passed through unchanged).</summary>
    public int NExtra { get; }
    /// <summary>1-D causal masking: <c>t_Δ = 0</c> for Δ &lt; 0.</summary>
    public bool Causal { get; }
    /// <summary>Output <c>X + Y</c> when true, <c>Y</c> otherwise (extra tokens always pass through).</summary>
    public bool Residual { get; }
    /// <summary>Requested algorithm (<see cref="ToeplitzAlgorithm.Auto"/> until resolved).</summary>
    public ToeplitzAlgorithm Algorithm { get; }
    /// <summary>Number of grid dimensions k.</summary>
    public int Dims => Grid.Length;
    /// <summary>Grid tokens N = Π n_a.</summary>
    public int Tokens { get; }
    /// <summary>Kernel grid <c>(2n_1−1 … 2n_k−1)</c>.</summary>
    public int[] KernelGrid { get; }
    /// <summary>Number of offsets Δ, Π (2n_a−1).</summary>
    public int Offsets { get; }

    /// <summary>Kernel tensor shape <c>[2n_1−1, …, 2n_k−1, c]</c>.</summary>
    public int[] KernelShape(int channels) => [.. KernelGrid, channels];

    /// <summary>FFT sizes per axis: the smallest power of two ≥ 2n_a − 1.</summary>
    public int[] FftSizes() => KernelGrid.Select(s => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)s)).ToArray();

    /// <summary>Same plan with another algorithm.</summary>
    public ToeplitzPlan With(ToeplitzAlgorithm algorithm) => new(Grid, NExtra, Causal, Residual, algorithm);

    /// <summary>Estimated multiply-adds of the direct sum for one direction (forward, or dx, or dkernel).</summary>
    public double DirectCost(int batch, int channels)
    {
        double pairs = Causal ? Tokens * (Tokens + 1.0) / 2 : (double)Tokens * Tokens;
        return batch * channels * pairs;
    }

    /// <summary>
    /// Estimated cost of the FFT path in the same units: per pair of channels one kernel transform and
    /// two transforms per batch item, each ≈ <see cref="FftCostPerPoint"/>·M·log₂M.
    /// </summary>
    public double FftCost(int batch, int channels)
    {
        double m = 1;
        foreach (var s in FftSizes()) m *= s;
        double pairs = (channels + 1) / 2;
        return pairs * (2.0 * batch + 1) * FftCostPerPoint * m * Math.Max(1, Math.Log2(m));
    }

    /// <summary>
    /// Cost of one complex FFT point-stage relative to one direct multiply-add, calibrated on the CPU backend (float32)
    /// so that the cost model's crossover between the two paths matches the measured one (docs/perf-tpe.md).
    /// </summary>
    public static double FftCostPerPoint { get; set; } = 8.0;

    /// <summary>The plan with <see cref="ToeplitzAlgorithm.Auto"/> replaced by the cheaper algorithm for these sizes.</summary>
    public ToeplitzPlan Resolve(int batch, int channels)
    {
        if (Algorithm != ToeplitzAlgorithm.Auto) return this;
        return With(FftCost(batch, channels) < DirectCost(batch, channels) ? ToeplitzAlgorithm.Fft : ToeplitzAlgorithm.Direct);
    }

    /// <summary>Offsets Δ [K, k] (as floats, grid-axis order) in kernel row-major order, Δ_a = i_a − (n_a − 1).</summary>
    public Tensor OffsetTensor(DType dtype = DType.Float64, Device? device = null)
    {
        int k = Dims;
        var v = new double[(long)Offsets * k];
        for (int f = 0; f < Offsets; f++)
        {
            int rem = f;
            for (int a = k - 1; a >= 0; a--)
            {
                v[(long)f * k + a] = rem % KernelGrid[a] - (Grid[a] - 1);
                rem /= KernelGrid[a];
            }
        }
        using var h = Tensor.FromArray(v, [Offsets, k]);
        using var t = h.To(dtype);
        return t.To(device ?? Device.Cpu);
    }

    /// <summary>|Δ|₁ per offset, [K, 1], in kernel row-major order.</summary>
    public Tensor OffsetL1Tensor(DType dtype = DType.Float64, Device? device = null)
    {
        var v = new double[Offsets];
        for (int f = 0; f < Offsets; f++)
        {
            int rem = f;
            for (int a = Dims - 1; a >= 0; a--)
            {
                v[f] += Math.Abs(rem % KernelGrid[a] - (Grid[a] - 1));
                rem /= KernelGrid[a];
            }
        }
        using var h = Tensor.FromArray(v, [Offsets, 1]);
        using var t = h.To(dtype);
        return t.To(device ?? Device.Cpu);
    }

    /// <summary>True when offset entry f (kernel row-major) is masked: causal mode and Δ &lt; 0.</summary>
    public bool IsMasked(int f) => Causal && f < Grid[0] - 1;

    /// <summary>1 for kept and 0 for causally masked offsets, [K, 1] in kernel row-major order.</summary>
    public Tensor MaskTensor(DType dtype = DType.Float64, Device? device = null)
    {
        var v = new double[Offsets];
        for (int f = 0; f < Offsets; f++) v[f] = IsMasked(f) ? 0 : 1;
        using var h = Tensor.FromArray(v, [Offsets, 1]);
        using var t = h.To(dtype);
        return t.To(device ?? Device.Cpu);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"ToeplitzPlan(grid {Shape.Format(Grid)}, extra {NExtra}, {(Causal ? "causal" : "two-sided")}, {(Residual ? "residual" : "replace")}, {Algorithm})";
}
