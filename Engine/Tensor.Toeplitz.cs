namespace LightNet;

public sealed partial class Tensor
{
    private static void CheckToeplitz(string op, Tensor x, Tensor kernel, ToeplitzPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        x.RequireFloating(op, "x");
        SameDType(op, x, kernel, "x", "kernel");
        SameDevice(op, x, kernel, "x", "kernel");
        if (x.Rank != 3 || x.Size(1) != plan.NExtra + plan.Tokens)
            throw new ShapeException($"{op}: 'x' {x.Shape} must be [B, {plan.NExtra + plan.Tokens}, c] ({plan.NExtra} extra + {plan.Tokens} grid tokens of grid {Shape.Format(plan.Grid)})");
        var ks = plan.KernelShape(x.Size(2));
        if (!kernel.Shape.Dims.SequenceEqual(ks))
            throw new ShapeException($"{op}: 'kernel' {kernel.Shape} must be {Shape.Format(ks)} for grid {Shape.Format(plan.Grid)} and x {x.Shape}");
    }

    /// <summary>
    /// MD-TPE Toeplitz application (SPEC §3) on x [B, L + N, c] with kernel [2n_1−1, …, 2n_k−1, c]:
    /// grid rows become <c>(residual ? X_p : 0) + Σ_p' t_(p−p') ⊙ X_p'</c>, the L extra rows pass through.
    /// <see cref="ToeplitzAlgorithm.Auto"/> picks direct sum or FFT by the plan's cost model.
    /// </summary>
    public static Tensor Toeplitz(Tensor x, Tensor kernel, ToeplitzPlan plan)
    {
        CheckToeplitz("toeplitz", x, kernel, plan);
        var resolved = plan.Resolve(x.Size(0), x.Size(2));
        using var xc = x.Contiguous();
        using var kc = kernel.Contiguous();
        var y = xc.EmptyLike();
        if (y.Numel > 0) x.Backend.Toeplitz(xc, kc, resolved, y);
        return y;
    }

    /// <summary>
    /// Gradients of <see cref="Toeplitz"/>: dx (correlation with the same kernel, plus dy for the residual
    /// and the extra rows) and dkernel <c>Σ_b Σ_p dY_p ⊙ X_(p−Δ)</c> (0 at causally masked offsets).
    /// </summary>
    public static (Tensor? Dx, Tensor? Dkernel) ToeplitzBackward(Tensor x, Tensor kernel, Tensor dy, ToeplitzPlan plan, bool needX = true, bool needKernel = true)
    {
        CheckToeplitz("toeplitz_backward", x, kernel, plan);
        if (dy.Shape != x.Shape) throw new ShapeException($"toeplitz_backward: 'dy' {dy.Shape} does not match x {x.Shape}");
        SameDType("toeplitz_backward", x, dy, "x", "dy");
        SameDevice("toeplitz_backward", x, dy, "x", "dy");
        var resolved = plan.Resolve(x.Size(0), x.Size(2));
        using var xc = x.Contiguous();
        using var kc = kernel.Contiguous();
        using var gc = dy.Contiguous();
        var dx = needX ? xc.EmptyLike() : null;
        var dk = needKernel ? kc.EmptyLike() : null;
        if (x.Numel > 0 && (dx != null || dk != null)) x.Backend.ToeplitzBackward(xc, kc, gc, resolved, dx, dk);
        else dk?.Backend.Fill(dk, 0);
        return (dx, dk);
    }
}
