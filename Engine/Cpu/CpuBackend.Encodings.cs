using System.Numerics;

namespace LightNet.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void Lrpe(Tensor x, Tensor angles, Tensor y)
    {
        int t = x.Size(-2), d = x.Size(-1);
        long rows = x.Numel / Math.Max(1, (long)t * d);
        if (x.DType == DType.Float32) LrpeKernels.Forward(x.Ptr<float>(), angles.Ptr<float>(), y.Ptr<float>(), rows, t, d);
        else if (x.DType == DType.Float64) LrpeKernels.Forward(x.Ptr<double>(), angles.Ptr<double>(), y.Ptr<double>(), rows, t, d);
        else throw Unsupported("md_lrpe", x.DType);
    }

    /// <inheritdoc/>
    public void LrpeBackward(Tensor dy, Tensor angles, Tensor dx)
    {
        int t = dx.Size(-2), d = dx.Size(-1);
        long rows = dx.Numel / Math.Max(1, (long)t * d);
        if (dy.DType == DType.Float32) LrpeKernels.Backward(dy.Ptr<float>(), angles.Ptr<float>(), dx.Ptr<float>(), rows, t, d);
        else if (dy.DType == DType.Float64) LrpeKernels.Backward(dy.Ptr<double>(), angles.Ptr<double>(), dx.Ptr<double>(), rows, t, d);
        else throw Unsupported("md_lrpe_backward", dy.DType);
    }

    /// <inheritdoc/>
    public void Toeplitz(Tensor x, Tensor kernel, ToeplitzPlan plan, Tensor y)
    {
        if (x.DType == DType.Float32) ToeplitzT<float>(x, kernel, plan, y);
        else if (x.DType == DType.Float64) ToeplitzT<double>(x, kernel, plan, y);
        else throw Unsupported("toeplitz", x.DType);
    }

    private static void ToeplitzT<T>(Tensor x, Tensor kernel, ToeplitzPlan plan, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = x.Size(0), c = x.Size(2);
        if (plan.Algorithm == ToeplitzAlgorithm.Fft) ToeplitzFft.Forward(x.Ptr<T>(), kernel.Ptr<T>(), y.Ptr<T>(), b, c, plan);
        else if (plan.Algorithm == ToeplitzAlgorithm.Direct) ToeplitzDirect.Forward(x.Ptr<T>(), kernel.Ptr<T>(), y.Ptr<T>(), b, c, plan);
        else throw new ShapeException($"toeplitz: the backend needs a resolved algorithm, got {plan}");
    }

    /// <inheritdoc/>
    public void ToeplitzBackward(Tensor x, Tensor kernel, Tensor dy, ToeplitzPlan plan, Tensor? dx, Tensor? dkernel)
    {
        if (x.DType == DType.Float32) ToeplitzBackwardT<float>(x, kernel, dy, plan, dx, dkernel);
        else if (x.DType == DType.Float64) ToeplitzBackwardT<double>(x, kernel, dy, plan, dx, dkernel);
        else throw Unsupported("toeplitz_backward", x.DType);
    }

    private static void ToeplitzBackwardT<T>(Tensor x, Tensor kernel, Tensor dy, ToeplitzPlan plan, Tensor? dx, Tensor? dkernel) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = x.Size(0), c = x.Size(2);
        if (plan.Algorithm == ToeplitzAlgorithm.Fft)
            ToeplitzFft.Backward(x.Ptr<T>(), kernel.Ptr<T>(), dy.Ptr<T>(), P<T>(dx), P<T>(dkernel), b, c, plan);
        else if (plan.Algorithm == ToeplitzAlgorithm.Direct)
        {
            if (dx != null) ToeplitzDirect.BackwardX(dy.Ptr<T>(), kernel.Ptr<T>(), dx.Ptr<T>(), b, c, plan);
            if (dkernel != null) ToeplitzDirect.BackwardKernel(x.Ptr<T>(), dy.Ptr<T>(), dkernel.Ptr<T>(), b, c, plan);
        }
        else throw new ShapeException($"toeplitz_backward: the backend needs a resolved algorithm, got {plan}");
    }
}
