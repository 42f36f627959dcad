namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step)
    {
        var k = Pick("adamw", param.DType, "adamw_f32", "adamw_f64");
        double bc1 = 1 - Math.Pow(step.Beta1, step.Step), bc2 = 1 - Math.Pow(step.Beta2, step.Step);
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(param));
        a.Ptr(Addr(grad));
        a.Ptr(Addr(m));
        a.Ptr(Addr(v));
        a.I64(param.Numel);
        a.F64(step.Beta1);
        a.F64(step.Beta2);
        a.F64(step.Lr / bc1);
        a.F64(1 / Math.Sqrt(bc2));
        a.F64(step.Eps);
        a.F64(1 - step.Lr * step.WeightDecay);
        Run("optim", k, param.Numel, ref a);
    }

    /// <inheritdoc/>
    public void Sgd(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double weightDecay)
    {
        var k = Pick("sgd", param.DType, "sgd_f32", "sgd_f64");
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(param));
        a.Ptr(Addr(grad));
        a.Ptr(Addr(momentumBuffer, true));
        a.I64(param.Numel);
        a.F64(lr);
        a.F64(momentum);
        a.F64(weightDecay);
        Run("optim", k, param.Numel, ref a);
    }

    /// <inheritdoc/>
    public void Lrpe(Tensor x, Tensor angles, Tensor y)
    {
        var k = Pick("md_lrpe", x.DType, "lrpe_f32", "lrpe_f64");
        LrpeLaunch(k, x, angles, y, x.Size(-2), x.Size(-1));
    }

    /// <inheritdoc/>
    public void LrpeBackward(Tensor dy, Tensor angles, Tensor dx)
    {
        var k = Pick("md_lrpe_backward", dy.DType, "lrpe_bwd_f32", "lrpe_bwd_f64");
        LrpeLaunch(k, dy, angles, dx, dx.Size(-2), dx.Size(-1));
    }

    private void LrpeLaunch(string kernel, Tensor input, Tensor angles, Tensor output, int t, int d)
    {
        long per = Math.Max(1, (long)t * d);
        long rows = (kernel.StartsWith("lrpe_bwd", StringComparison.Ordinal) ? output.Numel : input.Numel) / per;
        _dev.MakeCurrent();
        var a = new ArgPack();
        a.Ptr(Addr(input));
        a.Ptr(Addr(angles));
        a.Ptr(Addr(output));
        a.I64(rows);
        a.I64(t);
        a.I64(d);
        Run("lrpe", kernel, rows * t * d, ref a);
    }
}
