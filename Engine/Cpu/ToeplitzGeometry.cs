namespace LightNet.Cpu;

/// <summary>Index tables of a <see cref="ToeplitzPlan"/> shared by the direct and FFT kernels.</summary>
internal sealed class ToeplitzGeometry
{
    public ToeplitzGeometry(ToeplitzPlan plan)
    {
        Plan = plan;
        int k = plan.Dims, n = plan.Tokens;
        var grid = plan.Grid;
        var kgrid = plan.KernelGrid;
        KernelStrides = Strides(kgrid);
        GridStrides = Strides(grid);
        KernelBase = new int[n];
        GridOffset = new int[n];
        for (int p = 0; p < n; p++)
        {
            int rem = p;
            for (int a = k - 1; a >= 0; a--)
            {
                int q = rem % grid[a];
                rem /= grid[a];
                KernelBase[p] += (q + grid[a] - 1) * KernelStrides[a];
                GridOffset[p] += q * KernelStrides[a];
            }
        }
    }

    public ToeplitzPlan Plan { get; }
    /// <summary>Row-major strides of the kernel grid (2n_a − 1).</summary>
    public int[] KernelStrides { get; }
    /// <summary>Row-major strides of the token grid.</summary>
    public int[] GridStrides { get; }
    /// <summary>Σ (p_a + n_a − 1)·ks_a: the kernel index of Δ = p − p' is KernelBase[p] − GridOffset[p'].</summary>
    public int[] KernelBase { get; }
    /// <summary>Σ p_a·ks_a.</summary>
    public int[] GridOffset { get; }

    /// <summary>Δ of kernel entry f, per axis.</summary>
    public void Delta(int f, Span<int> delta)
    {
        for (int a = Plan.Dims - 1; a >= 0; a--)
        {
            delta[a] = f % Plan.KernelGrid[a] - (Plan.Grid[a] - 1);
            f /= Plan.KernelGrid[a];
        }
    }

    /// <summary>True when kernel entry f is masked (causal mode, Δ &lt; 0).</summary>
    public bool Masked(int f) => Plan.IsMasked(f);

    public static int[] Strides(int[] dims)
    {
        var s = new int[dims.Length];
        int acc = 1;
        for (int a = dims.Length - 1; a >= 0; a--) { s[a] = acc; acc *= dims[a]; }
        return s;
    }
}
