using LightNet.Autograd;

namespace LightNet.Models.Optim;

/// <summary>Base of optimizers: a parameter list, per-parameter state tensors and a step counter.</summary>
public abstract class Optimizer
{
    /// <summary>Takes the parameters (their order numbers the state entries) and the initial learning rate.</summary>
    protected Optimizer(IEnumerable<Variable> parameters, double lr)
    {
        Parameters = parameters.ToList();
        Lr = lr;
    }

    /// <summary>Parameters updated by <see cref="Step"/>.</summary>
    public IReadOnlyList<Variable> Parameters { get; }
    /// <summary>Learning rate of the next step (schedules set it).</summary>
    public double Lr { get; set; }
    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Applies one update from the accumulated gradients (parameters without a gradient are skipped).</summary>
    public abstract void Step();

    /// <summary>Drops every gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }

    /// <summary>Named state tensors (for checkpoints), e.g. "3.exp_avg".</summary>
    public abstract IReadOnlyDictionary<string, Tensor> State();

    /// <summary>Restores state written by <see cref="State"/> and the step count.</summary>
    public abstract void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount);

    /// <summary>Scales all gradients so their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public double ClipGradNorm(double maxNorm) => ClipGradNorm(maxNorm, GradNorm());

    /// <summary>The global L2 norm of all gradients (NaN or ∞ when any gradient is not finite).</summary>
    public double GradNorm()
    {
        double sq = 0;
        foreach (var p in Parameters)
        {
            if (p.Grad == null) continue;
            using var s = p.Grad.Square();
            using var t = s.Sum();
            sq += t.Item();
        }
        return Math.Sqrt(sq);
    }

    /// <summary>As <see cref="ClipGradNorm(double)"/> with the norm already computed by <see cref="GradNorm"/>.</summary>
    public double ClipGradNorm(double maxNorm, double norm)
    {
        if (norm > maxNorm && norm > 0)
            foreach (var p in Parameters) p.Grad?.Mul_(maxNorm / (norm + 1e-6));
        return norm;
    }
}

/// <summary>AdamW with decoupled weight decay and bias correction (PyTorch semantics), fused per parameter.</summary>
public sealed class AdamW : Optimizer
{
    private readonly Tensor?[] _m, _v;

    /// <summary>Creates AdamW (defaults as in PyTorch); moment buffers are allocated at a parameter's first update.</summary>
    public AdamW(IEnumerable<Variable> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : base(parameters, lr)
    {
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
        _m = new Tensor?[Parameters.Count];
        _v = new Tensor?[Parameters.Count];
    }

    /// <summary>Decay of the first-moment (mean) estimate.</summary>
    public double Beta1 { get; }
    /// <summary>Decay of the second-moment (uncentred variance) estimate.</summary>
    public double Beta2 { get; }
    /// <summary>Added to the bias-corrected √v in the denominator.</summary>
    public double Eps { get; }
    /// <summary>Decoupled weight decay λ: p ← p·(1 − lr·λ) before the Adam update.</summary>
    public double WeightDecay { get; }

    /// <inheritdoc/>
    public override void Step()
    {
        StepCount++;
        var h = new AdamWStep(Lr, Beta1, Beta2, Eps, WeightDecay, StepCount);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad == null) continue;
            _m[i] ??= DisposalScope.Detach(p.Data.EmptyLike().Fill_(0));
            _v[i] ??= DisposalScope.Detach(p.Data.EmptyLike().Fill_(0));
            using var g = p.Grad.Contiguous();
            Optimizers.AdamW(p.Data, g, _m[i]!, _v[i]!, h);
        }
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, Tensor> State()
    {
        var d = new Dictionary<string, Tensor>();
        for (int i = 0; i < Parameters.Count; i++)
        {
            if (_m[i] != null) d[$"{i}.exp_avg"] = _m[i]!;
            if (_v[i] != null) d[$"{i}.exp_avg_sq"] = _v[i]!;
        }
        return d;
    }

    /// <inheritdoc/>
    public override void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        for (int i = 0; i < Parameters.Count; i++)
        {
            if (state.TryGetValue($"{i}.exp_avg", out var m)) _m[i] = Copy(m, Parameters[i].Data, $"{i}.exp_avg");
            if (state.TryGetValue($"{i}.exp_avg_sq", out var v)) _v[i] = Copy(v, Parameters[i].Data, $"{i}.exp_avg_sq");
        }
        StepCount = stepCount;
    }

    internal static Tensor Copy(Tensor src, Tensor like, string name)
    {
        if (src.Shape != like.Shape) throw new InvalidDataException($"optimizer state '{name}' has shape {src.Shape}, parameter has {like.Shape}");
        var t = DisposalScope.Detach(like.EmptyLike());
        using var c = src.To(like.DType);
        using var d = c.To(like.Device);
        t.CopyFrom(d);
        return t;
    }
}

/// <summary>SGD with optional momentum and weight decay (PyTorch semantics), fused per parameter.</summary>
public sealed class Sgd : Optimizer
{
    private readonly Tensor?[] _buf;

    /// <summary>Creates SGD; a momentum buffer is allocated at a parameter's first update when momentum ≠ 0.</summary>
    public Sgd(IEnumerable<Variable> parameters, double lr, double momentum = 0, double weightDecay = 0) : base(parameters, lr)
    {
        Momentum = momentum; WeightDecay = weightDecay;
        _buf = new Tensor?[Parameters.Count];
    }

    /// <summary>Momentum μ (0: plain SGD).</summary>
    public double Momentum { get; }
    /// <summary>L2 penalty λ added to the gradient (g + λ·p).</summary>
    public double WeightDecay { get; }

    /// <inheritdoc/>
    public override void Step()
    {
        StepCount++;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad == null) continue;
            using var g = p.Grad.Contiguous();
            if (Momentum != 0 && _buf[i] == null)
            {
                // First step: the buffer starts as the gradient itself (PyTorch); with buf = 0, μ·0 + g does that.
                _buf[i] = DisposalScope.Detach(p.Data.EmptyLike().Fill_(0));
            }
            Optimizers.Sgd(p.Data, g, _buf[i], Lr, Momentum, WeightDecay);
        }
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, Tensor> State()
    {
        var d = new Dictionary<string, Tensor>();
        for (int i = 0; i < Parameters.Count; i++) if (_buf[i] != null) d[$"{i}.momentum_buffer"] = _buf[i]!;
        return d;
    }

    /// <inheritdoc/>
    public override void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        for (int i = 0; i < Parameters.Count; i++)
            if (state.TryGetValue($"{i}.momentum_buffer", out var b)) _buf[i] = AdamW.Copy(b, Parameters[i].Data, $"{i}.momentum_buffer");
        StepCount = stepCount;
    }
}
