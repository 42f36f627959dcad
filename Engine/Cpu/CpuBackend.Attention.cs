namespace LightNet.Cpu;

/// <summary>The CPU's fused LightNet attention kernels (with and without MD-LRPE).</summary>
public sealed unsafe partial class CpuBackend
{
    private void AdditiveCausal(Tensor q, Tensor k, Tensor v, Tensor? angles, double scale, Tensor? s0, Tensor? z0, Tensor o, Tensor sT, Tensor zT, int chunk)
    {
        int n = q.Size(0), t = q.Size(1), d = q.Size(2), e = v.Size(2);
        if (q.DType == DType.Float32)
            GatedAttentionKernel.AdditiveForward(q.Ptr<float>(), k.Ptr<float>(), v.Ptr<float>(), P<float>(angles), (float)scale, P<float>(s0), P<float>(z0), o.Ptr<float>(), sT.Ptr<float>(), zT.Ptr<float>(), n, t, d, e, chunk);
        else if (q.DType == DType.Float64)
            GatedAttentionKernel.AdditiveForward(q.Ptr<double>(), k.Ptr<double>(), v.Ptr<double>(), P<double>(angles), scale, P<double>(s0), P<double>(z0), o.Ptr<double>(), sT.Ptr<double>(), zT.Ptr<double>(), n, t, d, e, chunk);
        else throw Unsupported("additive_attention", q.DType);
    }

    private void AdditiveCausalGrad(Tensor q, Tensor k, Tensor v, Tensor? angles, double scale, Tensor? s0, Tensor? z0, Tensor dO,
        Tensor dq, Tensor dk, Tensor dv, Tensor? ds0, Tensor? dz0, int chunk)
    {
        int n = q.Size(0), t = q.Size(1), d = q.Size(2), e = v.Size(2);
        if (q.DType == DType.Float32)
            GatedAttentionKernel.AdditiveBackward(q.Ptr<float>(), k.Ptr<float>(), v.Ptr<float>(), P<float>(angles), (float)scale, P<float>(s0), P<float>(z0), dO.Ptr<float>(),
                dq.Ptr<float>(), dk.Ptr<float>(), dv.Ptr<float>(), P<float>(ds0), P<float>(dz0), n, t, d, e, chunk);
        else if (q.DType == DType.Float64)
            GatedAttentionKernel.AdditiveBackward(q.Ptr<double>(), k.Ptr<double>(), v.Ptr<double>(), P<double>(angles), scale, P<double>(s0), P<double>(z0), dO.Ptr<double>(),
                dq.Ptr<double>(), dk.Ptr<double>(), dv.Ptr<double>(), P<double>(ds0), P<double>(dz0), n, t, d, e, chunk);
        else throw Unsupported("additive_attention_backward", q.DType);
    }

    /// <inheritdoc/>
    public void AdditiveCausalLrpeForward(Tensor q, Tensor k, Tensor v, Tensor angles, double scale, Tensor? s0, Tensor? z0, Tensor o, Tensor sT, Tensor zT, int chunk) =>
        AdditiveCausal(q, k, v, angles, scale, s0, z0, o, sT, zT, chunk);

    /// <inheritdoc/>
    public void AdditiveCausalLrpeBackward(Tensor q, Tensor k, Tensor v, Tensor angles, double scale, Tensor? s0, Tensor? z0, Tensor dO,
        Tensor dq, Tensor dk, Tensor dv, Tensor? ds0, Tensor? dz0, int chunk) =>
        AdditiveCausalGrad(q, k, v, angles, scale, s0, z0, dO, dq, dk, dv, ds0, dz0, chunk);

    /// <inheritdoc/>
    public void AdditiveNonCausalForward(Tensor q, Tensor k, Tensor v, Tensor? angles, double scale, Tensor o)
    {
        int n = q.Size(0), t = q.Size(1), d = q.Size(2), e = v.Size(2);
        if (q.DType == DType.Float32)
            AdditiveNonCausalKernel.Forward(q.Ptr<float>(), k.Ptr<float>(), v.Ptr<float>(), P<float>(angles), (float)scale, o.Ptr<float>(), n, t, d, e);
        else if (q.DType == DType.Float64)
            AdditiveNonCausalKernel.Forward(q.Ptr<double>(), k.Ptr<double>(), v.Ptr<double>(), P<double>(angles), scale, o.Ptr<double>(), n, t, d, e);
        else throw Unsupported("additive_attention_noncausal", q.DType);
    }

    /// <inheritdoc/>
    public void AdditiveNonCausalBackward(Tensor q, Tensor k, Tensor v, Tensor? angles, double scale, Tensor dO, Tensor dq, Tensor dk, Tensor dv)
    {
        int n = q.Size(0), t = q.Size(1), d = q.Size(2), e = v.Size(2);
        if (q.DType == DType.Float32)
            AdditiveNonCausalKernel.Backward(q.Ptr<float>(), k.Ptr<float>(), v.Ptr<float>(), P<float>(angles), (float)scale, dO.Ptr<float>(), dq.Ptr<float>(), dk.Ptr<float>(), dv.Ptr<float>(), n, t, d, e);
        else if (q.DType == DType.Float64)
            AdditiveNonCausalKernel.Backward(q.Ptr<double>(), k.Ptr<double>(), v.Ptr<double>(), P<double>(angles), scale, dO.Ptr<double>(), dq.Ptr<double>(), dk.Ptr<double>(), dv.Ptr<double>(), n, t, d, e);
        else throw Unsupported("additive_attention_noncausal_backward", q.DType);
    }
}
