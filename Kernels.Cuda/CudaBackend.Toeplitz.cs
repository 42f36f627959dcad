using System.Runtime.InteropServices;
using LightNet.Cpu;

namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <summary>Grid sizes as toeplitz.cu takes them (<c>struct TpeGrid</c>).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TpeGrid
    {
        public long K;
        public fixed long N[8];
    }

    /// <summary>Uploads the kernel-index tables (kb, go) of a plan; the caller disposes both.</summary>
    private (Tensor Kb, Tensor Go) TpeTables(ToeplitzPlan plan)
    {
        if (plan.Dims > 8) throw new ShapeException($"toeplitz: grids of more than 8 axes are not supported on cuda (grid {Shape.Format(plan.Grid)})");
        var g = new ToeplitzGeometry(plan);
        using var kb = Tensor.FromArray(g.KernelBase);
        using var go = Tensor.FromArray(g.GridOffset);
        return (kb.To(Device), go.To(Device));
    }

    /// <inheritdoc/>
    /// <remarks>The GPU always sums directly (the FFT plan gives the same values up to rounding).</remarks>
    public void Toeplitz(Tensor x, Tensor kernel, ToeplitzPlan plan, Tensor y)
    {
        var k = Pick("toeplitz", x.DType, "tpe_fwd_f32", "tpe_fwd_f64");
        var (kb, go) = TpeTables(plan);
        using (kb)
        using (go)
            TpeRows(k, x, kernel, kb, go, y, plan);
    }

    private void TpeRows(string kernel, Tensor src, Tensor kern, Tensor kb, Tensor go, Tensor dst, ToeplitzPlan plan) =>
        Launch("toeplitz", kernel, src.Numel, false, Addr(src), Addr(kern), Addr(kb), Addr(go), Addr(dst),
            (long)src.Size(0), (long)plan.NExtra, (long)plan.Tokens, (long)src.Size(2), plan.Causal ? 1L : 0L, plan.Residual ? 1L : 0L);

    /// <inheritdoc/>
    public void ToeplitzBackward(Tensor x, Tensor kernel, Tensor dy, ToeplitzPlan plan, Tensor? dx, Tensor? dkernel)
    {
        var (kx, kk) = x.DType switch
        {
            DType.Float32 => ("tpe_bwd_x_f32", "tpe_bwd_kernel_f32"),
            DType.Float64 => ("tpe_bwd_x_f64", "tpe_bwd_kernel_f64"),
            _ => throw Unsupported("toeplitz_backward", x.DType),
        };
        if (dx != null)
        {
            var (kb, go) = TpeTables(plan);
            using (kb)
            using (go)
                TpeRows(kx, dy, kernel, kb, go, dx, plan);
        }
        if (dkernel == null) return;
        var grid = new TpeGrid { K = plan.Dims };
        for (int i = 0; i < plan.Dims; i++) grid.N[i] = plan.Grid[i];
        int c = x.Size(2);
        _dev.MakeCurrent();
        var a = ArgPack.From([Addr(x), Addr(dy), Addr(dkernel)]);
        a.Add(grid, 8);
        foreach (var v in (ReadOnlySpan<KernelArg>)[(long)x.Size(0), (long)plan.NExtra, (long)plan.Tokens, (long)c, (long)plan.Offsets, plan.Causal ? 1L : 0L]) v.AppendTo(ref a);
        Run("toeplitz", kk, (long)plan.Offsets * c, ref a);
    }
}
