namespace LightNet;

/// <summary>Hyper-parameters of one AdamW step (decoupled weight decay, bias correction).</summary>
public readonly record struct AdamWStep(double Lr, double Beta1, double Beta2, double Eps, double WeightDecay, long Step);

/// <summary>Fused optimizer updates on tensors (one pass over parameter, gradient and state).</summary>
public static class Optimizers
{
    private static void Check(string op, Tensor p, params (Tensor T, string Name)[] others)
    {
        p.RequireFloating(op, "param");
        foreach (var (t, n) in others)
        {
            if (t.Shape != p.Shape) throw new ShapeException($"{op}: '{n}' {t.Shape} must match param {p.Shape}");
            Tensor.SameDType(op, p, t, "param", n);
            Tensor.SameDevice(op, p, t, "param", n);
            if (!t.IsContiguous) throw new ShapeException($"{op}: '{n}' must be contiguous");
        }
        if (!p.IsContiguous) throw new ShapeException($"{op}: 'param' must be contiguous");
    }

    /// <summary>AdamW in place: m, v moments updated, then <c>p ← p − lr·(m̂/(√v̂+eps) + wd·p)</c>.</summary>
    public static void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep h)
    {
        Check("adamw", param, (grad, "grad"), (m, "exp_avg"), (v, "exp_avg_sq"));
        if (h.Step < 1) throw new ArgumentOutOfRangeException(nameof(h), "adamw: step counts from 1");
        param.Backend.AdamW(param, grad, m, v, h);
    }

    /// <summary>SGD with momentum (and optional weight decay) in place: <c>buf ← μ·buf + g + wd·p; p ← p − lr·buf</c>.</summary>
    public static void Sgd(Tensor param, Tensor grad, Tensor? momentumBuffer, double lr, double momentum, double weightDecay)
    {
        if (momentumBuffer != null) Check("sgd", param, (grad, "grad"), (momentumBuffer, "momentum_buffer"));
        else Check("sgd", param, (grad, "grad"));
        param.Backend.Sgd(param, grad, momentumBuffer, lr, momentum, weightDecay);
    }
}
