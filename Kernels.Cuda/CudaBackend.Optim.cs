namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step)
    {
        double bc1 = 1 - Math.Pow(step.Beta1, step.Step), bc2 = 1 - Math.Pow(step.Beta2, step.Step);
        Launch("optim", Pick("adamw", param.DType, "adamw_f32", "adamw_f64", "adamw_bf16"), param.Numel, false,
            Addr(param), Addr(grad), Addr(m), Addr(v), param.Numel,
            step.Beta1, step.Beta2, step.Lr / bc1, 1 / Math.Sqrt(bc2), step.Eps, 1 - step.Lr * step.WeightDecay);
    }

    /// <inheritdoc/>
    public void Sgd(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double weightDecay) =>
        Launch("optim", Pick("sgd", param.DType, "sgd_f32", "sgd_f64", "sgd_bf16"), param.Numel, false,
            Addr(param), Addr(grad), Addr(momentumBuffer, true), param.Numel, lr, momentum, weightDecay);

    /// <inheritdoc/>
    public void Lrpe(Tensor x, Tensor angles, Tensor y)
    {
        long t = x.Size(-2), d = x.Size(-1);
        Launch("lrpe", Pick("md_lrpe", x.DType, "lrpe_f32", "lrpe_f64"), x.Numel, false, Addr(x), Addr(angles), Addr(y), x.Numel / Math.Max(1, t * d), t, d);
    }

    /// <inheritdoc/>
    public void LrpeBackward(Tensor dy, Tensor angles, Tensor dx)
    {
        long t = dx.Size(-2), d = dx.Size(-1);
        Launch("lrpe", Pick("md_lrpe_backward", dy.DType, "lrpe_bwd_f32", "lrpe_bwd_f64"), dx.Numel, false, Addr(dy), Addr(angles), Addr(dx), dx.Numel / Math.Max(1, t * d), t, d);
    }
}
