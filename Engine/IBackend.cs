namespace LightNet;

/// <summary>Elementwise functions of one argument.</summary>
public enum UnaryOp
{
    /// <summary>−x.</summary>
    Neg,
    /// <summary>eˣ.</summary>
    Exp,
    /// <summary>Natural logarithm.</summary>
    Log,
    /// <summary>√x.</summary>
    Sqrt,
    /// <summary>1/√x.</summary>
    Rsqrt,
    /// <summary>Hyperbolic tangent.</summary>
    Tanh,
    /// <summary>Logistic σ(x) = 1/(1 + e⁻ˣ).</summary>
    Sigmoid,
    /// <summary>x·σ(x).</summary>
    Silu,
    /// <summary>Exact (erf) GELU, x·Φ(x).</summary>
    Gelu,
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>|x| (gradient 0 at 0).</summary>
    Abs,
    /// <summary>x².</summary>
    Square,
    /// <summary>1/x.</summary>
    Reciprocal,
    /// <summary>Sine.</summary>
    Sin,
    /// <summary>Cosine.</summary>
    Cos,
}

/// <summary>Elementwise functions of two arguments (comparisons give 1 or 0 in the input dtype).</summary>
public enum BinaryOp
{
    /// <summary>a + b.</summary>
    Add,
    /// <summary>a − b.</summary>
    Sub,
    /// <summary>a · b.</summary>
    Mul,
    /// <summary>a / b.</summary>
    Div,
    /// <summary>a to the power b.</summary>
    Pow,
    /// <summary>Elementwise maximum (NaN propagates).</summary>
    Max,
    /// <summary>Elementwise minimum (NaN propagates).</summary>
    Min,
    /// <summary>1 where a = b.</summary>
    Eq,
    /// <summary>1 where a ≠ b.</summary>
    Ne,
    /// <summary>1 where a &lt; b.</summary>
    Lt,
    /// <summary>1 where a ≤ b.</summary>
    Le,
    /// <summary>1 where a &gt; b.</summary>
    Gt,
    /// <summary>1 where a ≥ b.</summary>
    Ge,
}

/// <summary>Reductions over the last axis of a [rows, n] view.</summary>
public enum ReduceOp
{
    /// <summary>Σ of the row (0 for an empty row).</summary>
    Sum,
    /// <summary>Arithmetic mean of the row.</summary>
    Mean,
    /// <summary>Largest element.</summary>
    Max,
    /// <summary>Smallest element.</summary>
    Min,
    /// <summary>Index of the first largest element (int64).</summary>
    ArgMax,
    /// <summary>Index of the first smallest element (int64).</summary>
    ArgMin,
    /// <summary>log Σ eˣ, stabilised by the row maximum (−∞ for an empty row).</summary>
    LogSumExp,
}

/// <summary>
/// The kernels of one device. The <see cref="Tensor"/> layer validates arguments, broadcasts and
/// allocates outputs; a backend only computes. Unless stated, inputs are contiguous and outputs
/// are freshly allocated contiguous tensors on the backend's device.
/// </summary>
public interface IBackend
{
    /// <summary>Device served.</summary>
    Device Device { get; }
    /// <summary>Allocates storage; contents are undefined.</summary>
    Storage Allocate(long bytes);
    /// <summary>Copies a contiguous host tensor into a contiguous tensor on this device.</summary>
    void CopyFromHost(Tensor host, Tensor dst);
    /// <summary>Copies a contiguous tensor on this device into a contiguous host tensor.</summary>
    void CopyToHost(Tensor src, Tensor host);
    /// <summary><c>dst = src</c> element by element; any strides, same shape, dtype conversion allowed.</summary>
    void Copy(Tensor src, Tensor dst);
    /// <summary>Sets every element of a contiguous tensor.</summary>
    void Fill(Tensor dst, double value);
    /// <summary>Standard-normal (or uniform [0,1)) values from a counter-based generator.</summary>
    void Random(Tensor dst, ulong seed, ulong offset, bool normal);
    /// <summary><c>y = f(x)</c>.</summary>
    void Unary(UnaryOp op, Tensor x, Tensor y);
    /// <summary><c>dx = dy · f'(x)</c> (y = f(x) is given too, for ops whose derivative uses it).</summary>
    void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor dy, Tensor dx);
    /// <summary><c>y = SiLU(gate) ⊙ up</c> (the SwiGLU product of a gated MLP); contiguous, same shape.</summary>
    void SwiGlu(Tensor gate, Tensor up, Tensor y);
    /// <summary><c>dGate = dy ⊙ up ⊙ SiLU'(gate)</c>, <c>dUp = dy ⊙ SiLU(gate)</c>; contiguous, same shape.</summary>
    void SwiGluBackward(Tensor gate, Tensor up, Tensor dy, Tensor dGate, Tensor dUp);
    /// <summary><c>y = a ∘ b</c>; a and b are strided views of y's shape (stride 0 where broadcast).</summary>
    void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y);
    /// <summary><c>y = cond ≠ 0 ? a : b</c>; all three strided views of y's shape.</summary>
    void Where(Tensor cond, Tensor a, Tensor b, Tensor y);
    /// <summary>Reduces each row of x [rows, n] into y [rows] (int64 for arg reductions).</summary>
    void Reduce(ReduceOp op, Tensor x, Tensor y);
    /// <summary><c>c[b] = a[b] · b[b]</c> (or +=); operands [batch, m, k], [batch, k, n], [batch, m, n], any strides.</summary>
    void Matmul(Tensor a, Tensor b, Tensor c, bool accumulate);
    /// <summary>Softmax (or log-softmax) of each row of x [rows, n].</summary>
    void Softmax(Tensor x, Tensor y, bool log);
    /// <summary>Gradient of softmax (or log-softmax) from its output y.</summary>
    void SoftmaxBackward(Tensor y, Tensor dy, Tensor dx, bool log);
    /// <summary>Inclusive cumulative sum (or running-max log-cum-sum-exp) of each row of x [rows, n].</summary>
    void Cumulative(Tensor x, Tensor y, bool logSumExp);
    /// <summary><c>y[o, j, i] = x[o, idx[j], i]</c> with x [outer, n, inner], idx int64 [m], y [outer, m, inner].</summary>
    void IndexSelect(Tensor x, Tensor idx, Tensor y);
    /// <summary><c>y[o, idx[j], i] += src[o, j, i]</c>, the adjoint of <see cref="IndexSelect"/>.</summary>
    void IndexAdd(Tensor y, Tensor idx, Tensor src);
    /// <summary><c>y[o, j, i] = x[o, idx[o, j, i], i]</c> (torch.gather) with x [outer, n, inner], idx/y [outer, m, inner].</summary>
    void Gather(Tensor x, Tensor idx, Tensor y);
    /// <summary><c>y[o, idx[o, j, i], i] += src[o, j, i]</c> (torch.scatter_add_).</summary>
    void ScatterAdd(Tensor y, Tensor idx, Tensor src);
    /// <summary>Per-row cross-entropy of logits [N, C] with int64 targets [N]; rows whose target is ignoreIndex give 0. Writes loss [N] and logsumexp [N] (in the logits' accumulation dtype: float32 for bfloat16).</summary>
    void CrossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse);
    /// <summary><c>dlogits = (softmax − onehot) · dloss[row]</c>, zero for ignored rows.</summary>
    void CrossEntropyBackward(Tensor logits, Tensor targets, long ignoreIndex, Tensor lse, Tensor dloss, Tensor dlogits);
    /// <summary>RMSNorm over rows of x [rows, n]: <c>y = x·rstd·w</c> (w may be null); writes rstd [rows].</summary>
    void RmsNorm(Tensor x, Tensor? w, double eps, Tensor y, Tensor rstd);
    /// <summary>RMSNorm backward: dx, and dw (summed over rows; null when w is null).</summary>
    void RmsNormBackward(Tensor x, Tensor? w, Tensor rstd, Tensor dy, Tensor dx, Tensor? dw);
    /// <summary>LightNet's output gate over rows of x [rows, n]: <c>y = x·rstd·w ⊙ SiLU(u)</c> (RMSNorm, weight, SiLU gate in one pass); writes rstd [rows].</summary>
    void RmsNormGate(Tensor x, Tensor w, Tensor u, double eps, Tensor y, Tensor rstd);
    /// <summary>Backward of <see cref="RmsNormGate"/>: dx, dw (summed over rows) and du.</summary>
    void RmsNormGateBackward(Tensor x, Tensor w, Tensor u, Tensor rstd, Tensor dy, Tensor dx, Tensor dw, Tensor du);
    /// <summary>LayerNorm over rows: <c>y = (x−mean)·rstd·w + b</c> (w, b may be null); writes mean and rstd [rows].</summary>
    void LayerNorm(Tensor x, Tensor? w, Tensor? b, double eps, Tensor y, Tensor mean, Tensor rstd);
    /// <summary>LayerNorm backward: dx, dw, db (dw/db null when w/b are null).</summary>
    void LayerNormBackward(Tensor x, Tensor? w, Tensor mean, Tensor rstd, Tensor dy, Tensor dx, Tensor? dw, Tensor? db);

    // Gated linear attention (chunked; SPEC §1). q, kbar, g [N, T, d], v [N, T, e], states [N, d, e].
    /// <summary>Chunked forward of <c>S_t = diag(e^{g_t}) S_{t−1} + k̄_t v_tᵀ, o_t = α S_tᵀ q_t</c>; writes o and the final state.</summary>
    void GatedAttentionForward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? s0, Tensor o, Tensor sT, int chunk);
    /// <summary>Chunked closed-form backward: dq, dk̄, dv, dg and (when s0 is given) ds0, from dO and an optional final-state gradient.</summary>
    void GatedAttentionBackward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? s0, Tensor dO, Tensor? dsT,
        Tensor dq, Tensor dkbar, Tensor dv, Tensor dg, Tensor? ds0, int chunk);
    /// <summary>
    /// Fused causal additive attention (Z, k̄ and decays computed inside) on [B, H, T, dim] operands: q, k (and dq, dk in the
    /// backward) share one <see cref="HeadLayout"/>, v, o (dO, dv) share one; states contiguous. Writes o, the final
    /// S [B, H, d, e] and the final Z [B, H, d]. The backend may keep in <c>save</c> (when given) what its backward would
    /// otherwise recompute.
    /// </summary>
    void AdditiveCausalForward(Tensor q, Tensor k, Tensor v, double scale, Tensor? s0, Tensor? z0, Tensor o, Tensor sT, Tensor zT, int chunk, AttentionSaved? save = null);
    /// <summary>
    /// The dtype in which <see cref="AdditiveCausalForward"/> and its backward take q, k, v, o and their gradients for inputs
    /// of <paramref name="input"/>: the input's own when the kernels read and write it (the CUDA backend's bfloat16), else
    /// its <see cref="DTypeInfo.Accumulation"/> (the caller converts). States and Z are always in the accumulation dtype.
    /// </summary>
    DType AdditiveOperandDType(DType input);
    /// <summary>Closed-form backward of <see cref="AdditiveCausalForward"/>: dq, dk, dv and, with an initial state, dS0 and dZ0 (<c>saved</c>: what the forward kept for the same inputs, or null).</summary>
    void AdditiveCausalBackward(Tensor q, Tensor k, Tensor v, double scale, Tensor? s0, Tensor? z0, Tensor dO,
        Tensor dq, Tensor dk, Tensor dv, Tensor? ds0, Tensor? dz0, int chunk, AttentionSaved? saved = null);

    // Optimizers (contiguous, same shape and dtype).
    /// <summary>Fused AdamW update of param, exp_avg m and exp_avg_sq v.</summary>
    void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step);
    /// <summary>Fused SGD (momentum buffer optional).</summary>
    void Sgd(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double weightDecay);

    // MD-LRPE
    /// <summary>MD-LRPE expansion: x [.., T, d], angles [T, d] (x's dtype), y [.., T, 2d] = [x cos Θ, x sin Θ].</summary>
    void Lrpe(Tensor x, Tensor angles, Tensor y);
    /// <summary>MD-LRPE backward: dy [.., T, 2d] → dx [.., T, d] = dy[..,:d] cos Θ + dy[..,d:] sin Θ.</summary>
    void LrpeBackward(Tensor dy, Tensor angles, Tensor dx);

    // MD-TPE
    /// <summary>Toeplitz application on x/y [B, L + N, c] with kernel [2n_1−1, …, c]; <paramref name="plan"/> has a resolved algorithm (Direct or Fft).</summary>
    void Toeplitz(Tensor x, Tensor kernel, ToeplitzPlan plan, Tensor y);
    /// <summary>Toeplitz backward: dx (may be null) and dkernel (may be null; 0 at causally masked offsets).</summary>
    void ToeplitzBackward(Tensor x, Tensor kernel, Tensor dy, ToeplitzPlan plan, Tensor? dx, Tensor? dkernel);
}

/// <summary>Registry of backends by device kind; CUDA registers itself when its assembly loads.</summary>
public static class Backends
{
    private static readonly Dictionary<Device, IBackend> _map = new() { [Device.Cpu] = Cpu.CpuBackend.Instance };
    private static readonly Lock _lock = new();

    /// <summary>The backend for a device, or an error saying the device is unavailable.</summary>
    public static IBackend For(Device d)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(d, out var b)) return b;
        }
        throw new InvalidOperationException($"device {d} is not available (no backend registered for it)");
    }

    /// <summary>Registers (or replaces) the backend of a device.</summary>
    public static void Register(IBackend backend)
    {
        lock (_lock) _map[backend.Device] = backend;
    }

    /// <summary>True when a backend for the device is registered.</summary>
    public static bool IsAvailable(Device d)
    {
        lock (_lock) return _map.ContainsKey(d);
    }
}
