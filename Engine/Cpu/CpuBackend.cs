using System.Numerics;

namespace LightNet.Cpu;

/// <summary>The CPU implementation of <see cref="IBackend"/>: SIMD kernels, parallel over independent work.</summary>
public sealed unsafe partial class CpuBackend : IBackend, IFusedAttentionBackend
{
    /// <summary>The single instance.</summary>
    public static CpuBackend Instance { get; } = new();
    private CpuBackend() { }

    /// <inheritdoc/>
    public Device Device => Device.Cpu;
    /// <inheritdoc/>
    public Storage Allocate(long bytes) => new CpuStorage(bytes);
    /// <inheritdoc/>
    public void CopyFromHost(Tensor host, Tensor dst) => CopyKernels.Copy(host, dst);
    /// <inheritdoc/>
    public void CopyToHost(Tensor src, Tensor host) => CopyKernels.Copy(src, host);
    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst) => CopyKernels.Copy(src, dst);
    /// <inheritdoc/>
    public void Fill(Tensor dst, double value) => CopyKernels.Fill(dst, value);
    /// <inheritdoc/>
    public void Random(Tensor dst, ulong seed, ulong offset, bool normal) => CopyKernels.Random(dst, seed, offset, normal);

    private static Exception Unsupported(string op, DType t) => new ShapeException($"{op}: dtype {t.Name()} is not supported on cpu (float32 or float64 expected)");

    /// <inheritdoc/>
    public void Unary(UnaryOp op, Tensor x, Tensor y)
    {
        if (x.DType == DType.Float32) ElementwiseKernels.Unary(op, x.Ptr<float>(), y.Ptr<float>(), x.Numel);
        else if (x.DType == DType.Float64) ElementwiseKernels.Unary(op, x.Ptr<double>(), y.Ptr<double>(), x.Numel);
        else throw Unsupported(op.ToString().ToLowerInvariant(), x.DType);
    }

    /// <inheritdoc/>
    public void SwiGlu(Tensor gate, Tensor up, Tensor y)
    {
        if (gate.DType == DType.Float32) ElementwiseKernels.SwiGlu(gate.Ptr<float>(), up.Ptr<float>(), y.Ptr<float>(), gate.Numel);
        else if (gate.DType == DType.Float64) ElementwiseKernels.SwiGlu(gate.Ptr<double>(), up.Ptr<double>(), y.Ptr<double>(), gate.Numel);
        else throw Unsupported("swiglu", gate.DType);
    }

    /// <inheritdoc/>
    public void SwiGluBackward(Tensor gate, Tensor up, Tensor dy, Tensor dGate, Tensor dUp)
    {
        if (gate.DType == DType.Float32)
            ElementwiseKernels.SwiGluBackward(gate.Ptr<float>(), up.Ptr<float>(), dy.Ptr<float>(), dGate.Ptr<float>(), dUp.Ptr<float>(), gate.Numel);
        else if (gate.DType == DType.Float64)
            ElementwiseKernels.SwiGluBackward(gate.Ptr<double>(), up.Ptr<double>(), dy.Ptr<double>(), dGate.Ptr<double>(), dUp.Ptr<double>(), gate.Numel);
        else throw Unsupported("swiglu_backward", gate.DType);
    }

    /// <inheritdoc/>
    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, Tensor dx)
    {
        if (x.DType == DType.Float32) ElementwiseKernels.UnaryBackward(op, x.Ptr<float>(), y.Ptr<float>(), dy.Ptr<float>(), dx.Ptr<float>(), x.Numel);
        else if (x.DType == DType.Float64) ElementwiseKernels.UnaryBackward(op, x.Ptr<double>(), y.Ptr<double>(), dy.Ptr<double>(), dx.Ptr<double>(), x.Numel);
        else throw Unsupported(op.ToString().ToLowerInvariant() + "_backward", x.DType);
    }

    /// <inheritdoc/>
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        if (y.DType == DType.Float32) ElementwiseKernels.Binary<float>(op, a, b, y);
        else if (y.DType == DType.Float64) ElementwiseKernels.Binary<double>(op, a, b, y);
        else throw Unsupported(op.ToString().ToLowerInvariant(), y.DType);
    }

    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        if (y.DType == DType.Float32) ElementwiseKernels.Where<float>(cond, a, b, y);
        else if (y.DType == DType.Float64) ElementwiseKernels.Where<double>(cond, a, b, y);
        else throw Unsupported("where", y.DType);
    }

    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, Tensor y)
    {
        long rows = x.Size(0);
        int n = x.Size(1);
        if (x.DType == DType.Float32) ReduceKernels.Reduce(op, x.Ptr<float>(), rows, n, y);
        else if (x.DType == DType.Float64) ReduceKernels.Reduce(op, x.Ptr<double>(), rows, n, y);
        else throw Unsupported(op.ToString().ToLowerInvariant(), x.DType);
    }

    /// <inheritdoc/>
    public void Matmul(Tensor a, Tensor b, Tensor c, bool accumulate)
    {
        if (c.DType == DType.Float32) MatmulT<float>(a, b, c, accumulate);
        else if (c.DType == DType.Float64) MatmulT<double>(a, b, c, accumulate);
        else throw Unsupported("matmul", c.DType);
    }

    private static void MatmulT<T>(Tensor a, Tensor b, Tensor c, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int batch = c.Size(0), m = c.Size(1), n = c.Size(2), k = a.Size(2);
        var sa = a.StrideArray; var sb = b.StrideArray; var sc = c.StrideArray;
        nint pa = (nint)a.Ptr<T>(), pb = (nint)b.Ptr<T>(), pc = (nint)c.Ptr<T>();
        void One(int i, bool par) => Gemm.Run(
            new Gemm.Mat<T>((nint)((T*)pa + i * sa[0]), sa[1], sa[2]),
            new Gemm.Mat<T>((nint)((T*)pb + i * sb[0]), sb[1], sb[2]),
            new Gemm.Mat<T>((nint)((T*)pc + i * sc[0]), sc[1], sc[2]), m, n, k, accumulate, par);
        bool small = (long)m * n * k < (1L << 21);
        if (batch > 1 && small) Parallelism.For(batch, i => One(i, false));
        else for (int i = 0; i < batch; i++) One(i, true);
    }

    /// <inheritdoc/>
    public void Softmax(Tensor x, Tensor y, bool log)
    {
        long rows = x.Size(0); int n = x.Size(1);
        if (x.DType == DType.Float32) RowKernels.Softmax(x.Ptr<float>(), y.Ptr<float>(), rows, n, log);
        else if (x.DType == DType.Float64) RowKernels.Softmax(x.Ptr<double>(), y.Ptr<double>(), rows, n, log);
        else throw Unsupported("softmax", x.DType);
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor y, Tensor dy, Tensor dx, bool log)
    {
        long rows = y.Size(0); int n = y.Size(1);
        if (y.DType == DType.Float32) RowKernels.SoftmaxBackward(y.Ptr<float>(), dy.Ptr<float>(), dx.Ptr<float>(), rows, n, log);
        else if (y.DType == DType.Float64) RowKernels.SoftmaxBackward(y.Ptr<double>(), dy.Ptr<double>(), dx.Ptr<double>(), rows, n, log);
        else throw Unsupported("softmax_backward", y.DType);
    }

    /// <inheritdoc/>
    public void Cumulative(Tensor x, Tensor y, bool logSumExp)
    {
        long rows = x.Size(0); int n = x.Size(1);
        if (x.DType == DType.Float32) RowKernels.Cumulative(x.Ptr<float>(), y.Ptr<float>(), rows, n, logSumExp);
        else if (x.DType == DType.Float64) RowKernels.Cumulative(x.Ptr<double>(), y.Ptr<double>(), rows, n, logSumExp);
        else throw Unsupported(logSumExp ? "logcumsumexp" : "cumsum", x.DType);
    }

    /// <inheritdoc/>
    public void IndexSelect(Tensor x, Tensor idx, Tensor y) =>
        IndexKernels.IndexSelect((byte*)x.Ptr<byte>(), idx.Ptr<long>(), (byte*)y.Ptr<byte>(), x.Size(0), x.Size(1), idx.Size(0), x.Size(2), x.DType.Size());

    /// <inheritdoc/>
    public void IndexAdd(Tensor y, Tensor idx, Tensor src)
    {
        if (y.DType == DType.Float32) IndexKernels.IndexAdd(y.Ptr<float>(), idx.Ptr<long>(), src.Ptr<float>(), y.Size(0), y.Size(1), idx.Size(0), y.Size(2));
        else if (y.DType == DType.Float64) IndexKernels.IndexAdd(y.Ptr<double>(), idx.Ptr<long>(), src.Ptr<double>(), y.Size(0), y.Size(1), idx.Size(0), y.Size(2));
        else throw Unsupported("index_add", y.DType);
    }

    /// <inheritdoc/>
    public void Gather(Tensor x, Tensor idx, Tensor y) =>
        IndexKernels.Gather((byte*)x.Ptr<byte>(), idx.Ptr<long>(), (byte*)y.Ptr<byte>(), x.Size(0), x.Size(1), idx.Size(1), x.Size(2), x.DType.Size());

    /// <inheritdoc/>
    public void ScatterAdd(Tensor y, Tensor idx, Tensor src)
    {
        if (y.DType == DType.Float32) IndexKernels.ScatterAdd(y.Ptr<float>(), idx.Ptr<long>(), src.Ptr<float>(), y.Size(0), y.Size(1), idx.Size(1), y.Size(2));
        else if (y.DType == DType.Float64) IndexKernels.ScatterAdd(y.Ptr<double>(), idx.Ptr<long>(), src.Ptr<double>(), y.Size(0), y.Size(1), idx.Size(1), y.Size(2));
        else throw Unsupported("scatter_add", y.DType);
    }

    /// <inheritdoc/>
    public void CrossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse)
    {
        long rows = logits.Size(0); int n = logits.Size(1);
        if (logits.DType == DType.Float32) RowKernels.CrossEntropy(logits.Ptr<float>(), targets.Ptr<long>(), rows, n, ignoreIndex, loss.Ptr<float>(), lse.Ptr<float>());
        else if (logits.DType == DType.Float64) RowKernels.CrossEntropy(logits.Ptr<double>(), targets.Ptr<long>(), rows, n, ignoreIndex, loss.Ptr<double>(), lse.Ptr<double>());
        else throw Unsupported("cross_entropy", logits.DType);
    }

    /// <inheritdoc/>
    public void CrossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor lse, Tensor dloss, Tensor dlogits)
    {
        long rows = logits.Size(0); int n = logits.Size(1);
        if (logits.DType == DType.Float32) RowKernels.CrossEntropyBackward(logits.Ptr<float>(), targets.Ptr<long>(), rows, n, ignoreIndex, lse.Ptr<float>(), dloss.Ptr<float>(), dlogits.Ptr<float>());
        else if (logits.DType == DType.Float64) RowKernels.CrossEntropyBackward(logits.Ptr<double>(), targets.Ptr<long>(), rows, n, ignoreIndex, lse.Ptr<double>(), dloss.Ptr<double>(), dlogits.Ptr<double>());
        else throw Unsupported("cross_entropy_backward", logits.DType);
    }

    private static T* P<T>(Tensor? t) where T : unmanaged => t == null ? null : t.Ptr<T>();

    /// <inheritdoc/>
    public void RmsNorm(Tensor x, Tensor? w, double eps, Tensor y, Tensor rstd)
    {
        long rows = x.Size(0); int n = x.Size(1);
        if (x.DType == DType.Float32) NormKernels.RmsNorm(x.Ptr<float>(), P<float>(w), eps, y.Ptr<float>(), rstd.Ptr<float>(), rows, n);
        else if (x.DType == DType.Float64) NormKernels.RmsNorm(x.Ptr<double>(), P<double>(w), eps, y.Ptr<double>(), rstd.Ptr<double>(), rows, n);
        else throw Unsupported("rms_norm", x.DType);
    }

    /// <inheritdoc/>
    public void RmsNormGate(Tensor x, Tensor w, Tensor u, double eps, Tensor y, Tensor rstd)
    {
        long rows = x.Size(0); int n = x.Size(1);
        if (x.DType == DType.Float32) NormKernels.RmsNormGate(x.Ptr<float>(), w.Ptr<float>(), u.Ptr<float>(), eps, y.Ptr<float>(), rstd.Ptr<float>(), rows, n);
        else if (x.DType == DType.Float64) NormKernels.RmsNormGate(x.Ptr<double>(), w.Ptr<double>(), u.Ptr<double>(), eps, y.Ptr<double>(), rstd.Ptr<double>(), rows, n);
        else throw Unsupported("rms_norm_gate", x.DType);
    }

    /// <inheritdoc/>
    public void RmsNormGateBackward(Tensor x, Tensor w, Tensor u, Tensor rstd, Tensor dy, Tensor dx, Tensor dw, Tensor du)
    {
        long rows = x.Size(0); int n = x.Size(1);
        if (x.DType == DType.Float32)
            NormKernels.RmsNormGateBackward(x.Ptr<float>(), w.Ptr<float>(), u.Ptr<float>(), rstd.Ptr<float>(), dy.Ptr<float>(), dx.Ptr<float>(), dw.Ptr<float>(), du.Ptr<float>(), rows, n);
        else if (x.DType == DType.Float64)
            NormKernels.RmsNormGateBackward(x.Ptr<double>(), w.Ptr<double>(), u.Ptr<double>(), rstd.Ptr<double>(), dy.Ptr<double>(), dx.Ptr<double>(), dw.Ptr<double>(), du.Ptr<double>(), rows, n);
        else throw Unsupported("rms_norm_gate_backward", x.DType);
    }

    /// <inheritdoc/>
    public void RmsNormBackward(Tensor x, Tensor? w, Tensor rstd, Tensor dy, Tensor dx, Tensor? dw)
    {
        long rows = x.Size(0); int n = x.Size(1);
        if (x.DType == DType.Float32) NormKernels.RmsNormBackward(x.Ptr<float>(), P<float>(w), rstd.Ptr<float>(), dy.Ptr<float>(), dx.Ptr<float>(), P<float>(dw), rows, n);
        else if (x.DType == DType.Float64) NormKernels.RmsNormBackward(x.Ptr<double>(), P<double>(w), rstd.Ptr<double>(), dy.Ptr<double>(), dx.Ptr<double>(), P<double>(dw), rows, n);
        else throw Unsupported("rms_norm_backward", x.DType);
    }

    /// <inheritdoc/>
    public void LayerNorm(Tensor x, Tensor? w, Tensor? b, double eps, Tensor y, Tensor mean, Tensor rstd)
    {
        long rows = x.Size(0); int n = x.Size(1);
        if (x.DType == DType.Float32) NormKernels.LayerNorm(x.Ptr<float>(), P<float>(w), P<float>(b), eps, y.Ptr<float>(), mean.Ptr<float>(), rstd.Ptr<float>(), rows, n);
        else if (x.DType == DType.Float64) NormKernels.LayerNorm(x.Ptr<double>(), P<double>(w), P<double>(b), eps, y.Ptr<double>(), mean.Ptr<double>(), rstd.Ptr<double>(), rows, n);
        else throw Unsupported("layer_norm", x.DType);
    }

    /// <inheritdoc/>
    public void LayerNormBackward(Tensor x, Tensor? w, Tensor mean, Tensor rstd, Tensor dy, Tensor dx, Tensor? dw, Tensor? db)
    {
        long rows = x.Size(0); int n = x.Size(1);
        if (x.DType == DType.Float32) NormKernels.LayerNormBackward(x.Ptr<float>(), P<float>(w), mean.Ptr<float>(), rstd.Ptr<float>(), dy.Ptr<float>(), dx.Ptr<float>(), P<float>(dw), P<float>(db), rows, n);
        else if (x.DType == DType.Float64) NormKernels.LayerNormBackward(x.Ptr<double>(), P<double>(w), mean.Ptr<double>(), rstd.Ptr<double>(), dy.Ptr<double>(), dx.Ptr<double>(), P<double>(dw), P<double>(db), rows, n);
        else throw Unsupported("layer_norm_backward", x.DType);
    }

    /// <inheritdoc/>
    public void GatedAttentionForward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? s0, Tensor o, Tensor sT, int chunk)
    {
        int n = q.Size(0), t = q.Size(1), d = q.Size(2), e = v.Size(2);
        if (q.DType == DType.Float32)
            GatedAttentionKernel.Forward(q.Ptr<float>(), kbar.Ptr<float>(), v.Ptr<float>(), g.Ptr<float>(), (float)scale, P<float>(s0), o.Ptr<float>(), sT.Ptr<float>(), n, t, d, e, chunk);
        else if (q.DType == DType.Float64)
            GatedAttentionKernel.Forward(q.Ptr<double>(), kbar.Ptr<double>(), v.Ptr<double>(), g.Ptr<double>(), scale, P<double>(s0), o.Ptr<double>(), sT.Ptr<double>(), n, t, d, e, chunk);
        else throw Unsupported("gated_attention", q.DType);
    }

    /// <inheritdoc/>
    public void GatedAttentionBackward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? s0, Tensor dO, Tensor? dsT,
        Tensor dq, Tensor dkbar, Tensor dv, Tensor dg, Tensor? ds0, int chunk)
    {
        int n = q.Size(0), t = q.Size(1), d = q.Size(2), e = v.Size(2);
        if (q.DType == DType.Float32)
            GatedAttentionKernel.Backward(q.Ptr<float>(), kbar.Ptr<float>(), v.Ptr<float>(), g.Ptr<float>(), (float)scale, P<float>(s0), dO.Ptr<float>(), P<float>(dsT),
                dq.Ptr<float>(), dkbar.Ptr<float>(), dv.Ptr<float>(), dg.Ptr<float>(), P<float>(ds0), n, t, d, e, chunk);
        else if (q.DType == DType.Float64)
            GatedAttentionKernel.Backward(q.Ptr<double>(), kbar.Ptr<double>(), v.Ptr<double>(), g.Ptr<double>(), scale, P<double>(s0), dO.Ptr<double>(), P<double>(dsT),
                dq.Ptr<double>(), dkbar.Ptr<double>(), dv.Ptr<double>(), dg.Ptr<double>(), P<double>(ds0), n, t, d, e, chunk);
        else throw Unsupported("gated_attention_backward", q.DType);
    }

    /// <inheritdoc/>
    public DType AdditiveOperandDType(DType input) => input.Accumulation();

    /// <inheritdoc/>
    /// <remarks>Keeps nothing in <paramref name="save"/>: the backward recomputes.</remarks>
    public void AdditiveCausalForward(Tensor q, Tensor k, Tensor v, double scale, Tensor? s0, Tensor? z0, Tensor o, Tensor sT, Tensor zT, int chunk, AttentionSaved? save = null)
    {
        using var q3 = HeadLayouts.Sequences(q); using var k3 = HeadLayouts.Sequences(k); using var v3 = HeadLayouts.Sequences(v);
        using var o3 = OutputSequences(o);
        AdditiveCausal(q3, k3, v3, null, scale, s0, z0, o3, sT, zT, chunk);
        WriteBack(o, o3);
    }

    /// <inheritdoc/>
    public void AdditiveCausalBackward(Tensor q, Tensor k, Tensor v, double scale, Tensor? s0, Tensor? z0, Tensor dO,
        Tensor dq, Tensor dk, Tensor dv, Tensor? ds0, Tensor? dz0, int chunk, AttentionSaved? saved = null)
    {
        using var q3 = HeadLayouts.Sequences(q); using var k3 = HeadLayouts.Sequences(k); using var v3 = HeadLayouts.Sequences(v);
        using var do3 = HeadLayouts.Sequences(dO);
        using var dq3 = OutputSequences(dq); using var dk3 = OutputSequences(dk); using var dv3 = OutputSequences(dv);
        AdditiveCausalGrad(q3, k3, v3, null, scale, s0, z0, do3, dq3, dk3, dv3, ds0, dz0, chunk);
        WriteBack(dq, dq3); WriteBack(dk, dk3); WriteBack(dv, dv3);
    }

    /// <summary>Where a kernel writes a rank-4 output as [N, T, dim] sequences: a view of it when contiguous, else a new tensor (see <see cref="WriteBack"/>).</summary>
    private static Tensor OutputSequences(Tensor output) =>
        output.IsContiguous ? output.View(-1, output.Size(2), output.Size(3)) : Tensor.Empty([output.Size(0) * output.Size(1), output.Size(2), output.Size(3)], output.DType, output.Device);

    /// <summary>Copies a kernel's [N, T, dim] result into the rank-4 output it stands for, unless it is a view of that output.</summary>
    private static void WriteBack(Tensor output, Tensor sequences)
    {
        if (sequences.Storage == output.Storage) return;
        using var r = sequences.View(output.ShapeArray);
        output.CopyFrom(r);
    }

    /// <inheritdoc/>
    public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step)
    {
        if (param.DType == DType.Float32) OptimizerKernels.AdamW(param.Ptr<float>(), grad.Ptr<float>(), m.Ptr<float>(), v.Ptr<float>(), param.Numel, step);
        else if (param.DType == DType.Float64) OptimizerKernels.AdamW(param.Ptr<double>(), grad.Ptr<double>(), m.Ptr<double>(), v.Ptr<double>(), param.Numel, step);
        else throw Unsupported("adamw", param.DType);
    }

    /// <inheritdoc/>
    public void Sgd(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double weightDecay)
    {
        if (param.DType == DType.Float32) OptimizerKernels.Sgd(param.Ptr<float>(), grad.Ptr<float>(), P<float>(momentumBuffer), param.Numel, lr, momentum, weightDecay);
        else if (param.DType == DType.Float64) OptimizerKernels.Sgd(param.Ptr<double>(), grad.Ptr<double>(), P<double>(momentumBuffer), param.Numel, lr, momentum, weightDecay);
        else throw Unsupported("sgd", param.DType);
    }
}
