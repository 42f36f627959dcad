using LightNet.Autograd;

namespace LightNet.Models.Nn;

/// <summary>
/// Base of every layer and model: named parameters (the fla / Hugging Face names), child modules,
/// train/eval mode, device/dtype moves and state dicts that refuse missing, unexpected or misshaped tensors.
/// </summary>
public abstract class Module
{
    private readonly List<(string Name, Variable Param)> _params = [];
    private readonly List<(string Name, Module Child)> _children = [];

    /// <summary>True in training mode (default).</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Registers a trainable parameter under a local name.</summary>
    protected Variable Parameter(string name, Tensor value)
    {
        var v = new Variable(DisposalScope.Detach(value), requiresGrad: true, name: name);
        _params.Add((name, v));
        return v;
    }

    /// <summary>Registers an existing variable (e.g. one owned by an op holder) as a parameter under a local name.</summary>
    protected void Adopt(string name, Variable v)
    {
        v.RequiresGrad = true;
        _params.Add((name, v));
    }

    /// <summary>Registers a child module under a local name (its parameters become "name.child").</summary>
    protected T Child<T>(string name, T module) where T : Module
    {
        _children.Add((name, module));
        return module;
    }

    /// <summary>Every parameter with its full dotted name, in registration order.</summary>
    public IEnumerable<(string Name, Variable Param)> NamedParameters(string prefix = "")
    {
        foreach (var (n, p) in _params) yield return (prefix + n, p);
        foreach (var (n, c) in _children)
            foreach (var x in c.NamedParameters(prefix + n + ".")) yield return x;
    }

    /// <summary>Every parameter.</summary>
    public IEnumerable<Variable> Parameters() => NamedParameters().Select(p => p.Param);

    /// <summary>Number of scalar parameters.</summary>
    public long ParameterCount => Parameters().Sum(p => p.Data.Numel);

    /// <summary>Sets training mode on this module and its children.</summary>
    public Module Train(bool on = true)
    {
        Training = on;
        foreach (var (_, c) in _children) c.Train(on);
        return this;
    }

    /// <summary>Sets evaluation mode.</summary>
    public Module Eval() => Train(false);

    /// <summary>Moves every parameter to a device and/or dtype in place.</summary>
    public Module To(Device? device = null, DType? dtype = null)
    {
        foreach (var p in Parameters())
        {
            var t = p.Data;
            var moved = t;
            if (dtype is DType dt && dt != t.DType) moved = moved.To(dt);
            if (device is Device dv && dv != moved.Device) { var m = moved.To(dv); if (!ReferenceEquals(moved, t)) moved.Dispose(); moved = m; }
            if (!ReferenceEquals(moved, t)) { p.SetData(DisposalScope.Detach(moved)); t.Dispose(); }
            p.ZeroGrad();
        }
        return this;
    }

    /// <summary>Drops every parameter gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    /// <summary>Name → tensor (the live parameter tensors, not copies).</summary>
    public Dictionary<string, Tensor> StateDict() => NamedParameters().ToDictionary(p => p.Name, p => p.Param.Data);

    /// <summary>Copies tensors into the parameters (converting dtype/device); strict mode rejects missing or unexpected names.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var named = NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        if (strict)
        {
            var missing = named.Keys.Where(k => !state.ContainsKey(k)).ToList();
            var unexpected = state.Keys.Where(k => !named.ContainsKey(k)).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
                throw new InvalidDataException($"load_state_dict: {GetType().Name} " +
                    (missing.Count > 0 ? $"is missing {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? $" (+{missing.Count - 10} more)" : "")}" : "") +
                    (missing.Count > 0 && unexpected.Count > 0 ? "; " : "") +
                    (unexpected.Count > 0 ? $"got unexpected {string.Join(", ", unexpected.Take(10))}{(unexpected.Count > 10 ? $" (+{unexpected.Count - 10} more)" : "")}" : ""));
        }
        foreach (var (name, p) in named)
        {
            if (!state.TryGetValue(name, out var src)) continue;
            if (src.Shape != p.Shape) throw new InvalidDataException($"load_state_dict: '{name}' has shape {src.Shape} in the checkpoint but {p.Shape} in the model");
            using var conv = src.To(p.DType);
            using var moved = conv.To(p.Device);
            p.Data.CopyFrom(moved);
        }
    }
}
