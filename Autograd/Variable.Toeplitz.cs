namespace LightNet.Autograd;

public sealed partial class Variable
{
    /// <summary>
    /// MD-TPE Toeplitz application of a kernel [2n_1−1, …, 2n_k−1, c] to x [B, L + N, c]
    /// (see <see cref="Tensor.Toeplitz"/>); gradients flow to x and to the kernel.
    /// </summary>
    public static Variable Toeplitz(Variable x, Variable kernel, ToeplitzPlan plan)
    {
        var y = Tensor.Toeplitz(x.Data, kernel.Data, plan);
        return Graph.Record("toeplitz", y, [x, kernel], g =>
        {
            var (dx, dk) = Tensor.ToeplitzBackward(x.Data, kernel.Data, g, plan, x.RequiresGrad, kernel.RequiresGrad);
            return [dx, dk];
        });
    }
}
