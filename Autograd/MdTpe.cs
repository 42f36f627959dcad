namespace LightNet.Autograd;

/// <summary>
/// MD-TPE parameters and forward (SPEC §3): the RPE MLP on offsets Δ (k → r, L × [RMSNorm₀, SiLU,
/// r → r], RMSNorm₀, SiLU, r → c, all with bias), the decay <c>γ = σ(decay)</c>, the kernel
/// <c>t_Δ = RPE(Δ) ⊙ γ^|Δ|₁</c> and its Toeplitz application. Parameter names follow SPEC.md:
/// <c>rpe.in_proj.weight/bias</c>, <c>rpe.layers.{j}.weight/bias</c>, <c>rpe.out_proj.weight/bias</c>, <c>decay</c>.
/// </summary>
public sealed class MdTpe : IDisposable
{
    /// <summary>Creates the module with Linear weights N(0, 0.02²), zero biases and decay 4.6.</summary>
    public MdTpe(int dims, int channels, int rpeDim = 32, int rpeLayers = 1, double eps = 1e-6, bool causal = false, bool residual = true,
        DType dtype = DType.Float32, Generator? gen = null)
    {
        if (dims < 1) throw new ShapeException($"md_tpe: 'dims' (k) must be ≥ 1, got {dims}");
        if (channels < 1) throw new ShapeException($"md_tpe: 'channels' must be ≥ 1, got {channels}");
        if (rpeDim < 1) throw new ShapeException($"md_tpe: 'rpeDim' must be ≥ 1, got {rpeDim}");
        if (rpeLayers < 0) throw new ShapeException($"md_tpe: 'rpeLayers' must be ≥ 0, got {rpeLayers}");
        if (causal && dims != 1) throw new ShapeException($"md_tpe: causal mode needs dims = 1, got {dims}");
        Dims = dims; Channels = channels; RpeDim = rpeDim; RpeLayers = rpeLayers; Eps = eps; Causal = causal; Residual = residual;
        var g = gen ?? Generator.Default;
        Variable W(int o, int i) => new(Tensor.RandN([o, i], g, dtype, std: 0.02), requiresGrad: true);
        Variable B(int o) => new(Tensor.Zeros([o], dtype), requiresGrad: true);
        Parameters["rpe.in_proj.weight"] = W(rpeDim, dims);
        Parameters["rpe.in_proj.bias"] = B(rpeDim);
        for (int j = 0; j < rpeLayers; j++)
        {
            Parameters[$"rpe.layers.{j}.weight"] = W(rpeDim, rpeDim);
            Parameters[$"rpe.layers.{j}.bias"] = B(rpeDim);
        }
        Parameters["rpe.out_proj.weight"] = W(channels, rpeDim);
        Parameters["rpe.out_proj.bias"] = B(channels);
        Parameters["decay"] = new Variable(Tensor.Full([channels], 4.6, dtype), requiresGrad: true);
        foreach (var (name, v) in Parameters) { v.Name = name; DisposalScope.Detach(v.Data); }
    }

    /// <summary>Grid dimensionality k.</summary>
    public int Dims { get; }
    /// <summary>Channels c.</summary>
    public int Channels { get; }
    /// <summary>RPE width r.</summary>
    public int RpeDim { get; }
    /// <summary>RPE depth L.</summary>
    public int RpeLayers { get; }
    /// <summary>RMSNorm₀ epsilon.</summary>
    public double Eps { get; }
    /// <summary>1-D causal mode.</summary>
    public bool Causal { get; }
    /// <summary>Residual (X + Y) or replace (Y) output.</summary>
    public bool Residual { get; }
    /// <summary>Algorithm of the Toeplitz application (Auto: crossover by size).</summary>
    public ToeplitzAlgorithm Algorithm { get; set; } = ToeplitzAlgorithm.Auto;

    /// <summary>Named parameters (SPEC.md names, module-local).</summary>
    public Dictionary<string, Variable> Parameters { get; } = new();

    /// <summary>Replaces a parameter's value (shape and dtype checked), e.g. from a checkpoint.</summary>
    public void Load(string name, Tensor value)
    {
        if (!Parameters.TryGetValue(name, out var p)) throw new KeyNotFoundException($"md_tpe: no parameter named '{name}' (have {string.Join(", ", Parameters.Keys)})");
        if (value.Shape != p.Shape || value.DType != p.DType) throw new ShapeException($"md_tpe: '{name}' expects {p.DType.Name()} {p.Shape}, got {value.DType.Name()} {value.Shape}");
        var old = p.Data;
        p.SetData(DisposalScope.Detach(value.Clone()));
        old.Dispose();
    }

    /// <summary>The plan for a grid (with <paramref name="nExtra"/> leading extra tokens).</summary>
    public ToeplitzPlan Plan(int[] grid, int nExtra = 0)
    {
        if (grid.Length != Dims) throw new ShapeException($"md_tpe: grid {Shape.Format(grid)} has {grid.Length} axes, module has k = {Dims}");
        return new ToeplitzPlan(grid, nExtra, Causal, Residual, Algorithm);
    }

    private static Variable Linear(Variable x, Variable w, Variable b) => Variable.Matmul(x, w.Transpose()) + b;

    /// <summary>The kernel <c>t_Δ = RPE(Δ) ⊙ γ^|Δ|₁</c> (0 at Δ &lt; 0 in causal mode), shape [2n_1−1, …, 2n_k−1, c].</summary>
    public Variable Kernel(int[] grid)
    {
        var plan = Plan(grid);
        var dt = Parameters["decay"].DType;
        var dev = Parameters["decay"].Device;
        var delta = new Variable(plan.OffsetTensor(dt, dev));
        var h = Linear(delta, Parameters["rpe.in_proj.weight"], Parameters["rpe.in_proj.bias"]);
        for (int j = 0; j < RpeLayers; j++)
            h = Linear(Variable.RmsNorm(h, null, Eps).Silu(), Parameters[$"rpe.layers.{j}.weight"], Parameters[$"rpe.layers.{j}.bias"]);
        var rpe = Linear(Variable.RmsNorm(h, null, Eps).Silu(), Parameters["rpe.out_proj.weight"], Parameters["rpe.out_proj.bias"]);
        // γ^|Δ|₁ = exp(|Δ|₁ · log σ(decay))
        var l1 = new Variable(plan.OffsetL1Tensor(dt, dev));
        var logGamma = Parameters["decay"].Sigmoid().Log();
        var decay = (l1 * logGamma.Unsqueeze(0)).Exp();
        var t = rpe * decay;
        if (Causal) t *= new Variable(plan.MaskTensor(dt, dev));
        return t.Reshape(plan.KernelShape(Channels));
    }

    /// <summary>Applies MD-TPE to x [B, nExtra + Π grid, c]; extra tokens pass through.</summary>
    public Variable Forward(Variable x, int[] grid, int nExtra = 0)
    {
        if (x.Rank != 3 || x.Size(2) != Channels) throw new ShapeException($"md_tpe: 'x' {x.Shape} must be [B, T, {Channels}]");
        return Variable.Toeplitz(x, Kernel(grid), Plan(grid, nExtra));
    }

    /// <summary>Disposes every parameter.</summary>
    public void Dispose()
    {
        foreach (var v in Parameters.Values) v.Dispose();
    }
}
