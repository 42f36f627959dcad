namespace LightNet;

public sealed partial class Tensor
{
    /// <summary>Runs a row kernel over <paramref name="axis"/>: moves it last, views [rows, n], moves it back.</summary>
    private Tensor AlongAxis(string op, int axis, Action<Tensor, Tensor> kernel)
    {
        RequireFloating(op);
        int a = NormAxis(op, axis);
        using var moved = a == Rank - 1 ? MakeView(_shape, _strides, Offset) : Transpose(a, -1);
        using var c = moved.Contiguous();
        int n = c.Size(-1);
        using var x2 = c.View(-1, Math.Max(n, 1));
        using var y2 = x2.EmptyLike();
        if (n > 0) kernel(x2, y2);
        using var y = y2.View(c._shape);
        if (a == Rank - 1) return y.MakeView(y._shape, y._strides, y.Offset);
        using var back = y.Transpose(a, -1);
        return back.Contiguous();
    }

    /// <summary>Softmax along an axis.</summary>
    public Tensor Softmax(int axis = -1) => AlongAxis("softmax", axis, (x, y) => Backend.Softmax(x, y, log: false));
    /// <summary>Log-softmax along an axis.</summary>
    public Tensor LogSoftmax(int axis = -1) => AlongAxis("log_softmax", axis, (x, y) => Backend.Softmax(x, y, log: true));
    /// <summary>Inclusive cumulative sum along an axis.</summary>
    public Tensor Cumsum(int axis) => AlongAxis("cumsum", axis, (x, y) => Backend.Cumulative(x, y, logSumExp: false));
    /// <summary>Inclusive log-cum-sum-exp along an axis (running-max form; never overflows).</summary>
    public Tensor LogCumSumExp(int axis) => AlongAxis("logcumsumexp", axis, (x, y) => Backend.Cumulative(x, y, logSumExp: true));

    /// <summary>Gradient of <see cref="Softmax"/> or <see cref="LogSoftmax"/> given its output y (this) and dy.</summary>
    public Tensor SoftmaxBackward(Tensor dy, int axis, bool log)
    {
        string op = log ? "log_softmax_backward" : "softmax_backward";
        if (dy.Shape != Shape) throw new ShapeException($"{op}: gradient 'dy' {dy.Shape} does not match output {Shape}");
        int a = NormAxis(op, axis);
        using var ym = a == Rank - 1 ? MakeView(_shape, _strides, Offset) : Transpose(a, -1);
        using var gm = a == Rank - 1 ? dy.MakeView(dy._shape, dy._strides, dy.Offset) : dy.Transpose(a, -1);
        using var yc = ym.Contiguous();
        using var gc = gm.Contiguous();
        int n = yc.Size(-1);
        using var y2 = yc.View(-1, n);
        using var g2 = gc.View(-1, n);
        using var dx2 = y2.EmptyLike();
        Backend.SoftmaxBackward(y2, g2, dx2, log);
        using var dx = dx2.View(yc._shape);
        if (a == Rank - 1) return dx.MakeView(dx._shape, dx._strides, dx.Offset);
        using var back = dx.Transpose(a, -1);
        return back.Contiguous();
    }

    private static void CheckTargets(string op, Tensor logits, Tensor targets)
    {
        if (logits.Rank != 2) throw new ShapeException($"{op}: 'logits' must be [N, C], got {logits.Shape}");
        if (targets.DType != DType.Int64) throw new ShapeException($"{op}: 'targets' must be int64, got {targets.DType.Name()} {targets.Shape}");
        if (targets.Rank != 1 || targets.Size(0) != logits.Size(0)) throw new ShapeException($"{op}: 'targets' {targets.Shape} must be [N] with N = {logits.Size(0)} rows of logits {logits.Shape}");
        SameDevice(op, logits, targets, "logits", "targets");
        logits.RequireFloating(op, "logits");
    }

    /// <summary>Per-row cross-entropy (0 where the target is the ignore index) and the row log-sum-exp.</summary>
    /// <remarks>The log-sum-exp is in the logits' <see cref="DTypeInfo.Accumulation"/> dtype (float32 for bfloat16 logits).</remarks>
    public static (Tensor Loss, Tensor Lse) CrossEntropyRows(Tensor logits, Tensor targets, long ignoreIndex = -100)
    {
        CheckTargets("cross_entropy", logits, targets);
        using var l = logits.Contiguous();
        using var t = targets.Contiguous();
        var loss = Empty([logits.Size(0)], logits.DType, logits.Device);
        var lse = Empty([logits.Size(0)], logits.DType.Accumulation(), logits.Device); // read back by the backward: kept in float32 for bfloat16
        logits.Backend.CrossEntropy(l, t, ignoreIndex, loss, lse);
        return (loss, lse);
    }

    /// <summary>Gradient of per-row cross-entropy with respect to logits, scaled per row by <paramref name="dloss"/>.</summary>
    public static Tensor CrossEntropyRowsBackward(Tensor logits, Tensor targets, Tensor lse, Tensor dloss, long ignoreIndex = -100)
    {
        CheckTargets("cross_entropy_backward", logits, targets);
        foreach (var (row, name) in new[] { (lse, "lse"), (dloss, "dloss") })
        {
            if (row.Rank != 1 || row.Size(0) != logits.Size(0))
                throw new ShapeException($"cross_entropy_backward: '{name}' {row.Shape} must be [N] with N = {logits.Size(0)} rows of logits {logits.Shape}");
            SameDevice("cross_entropy_backward", logits, row, "logits", name);
        }
        if (lse.DType != logits.DType.Accumulation())
            throw new ShapeException($"cross_entropy_backward: 'lse' has dtype {lse.DType.Name()}, expected {logits.DType.Accumulation().Name()} for {logits.DType.Name()} logits (as CrossEntropyRows gives it)");
        SameDType("cross_entropy_backward", logits, dloss, "logits", "dloss");
        using var l = logits.Contiguous();
        using var t = targets.Contiguous();
        using var d = dloss.Contiguous();
        using var ls = lse.Contiguous();
        var dl = l.EmptyLike();
        logits.Backend.CrossEntropyBackward(l, t, ignoreIndex, ls, d, dl);
        return dl;
    }

    /// <summary>Mean cross-entropy over rows whose target is not <paramref name="ignoreIndex"/>.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets, long ignoreIndex = -100)
    {
        var (loss, lse) = CrossEntropyRows(logits, targets, ignoreIndex);
        using (loss)
        using (lse)
        {
            long count = CountNotIgnored(targets, ignoreIndex);
            using var s = loss.Sum();
            return s / Math.Max(1, count);
        }
    }

    /// <summary>Number of targets different from the ignore index.</summary>
    public static long CountNotIgnored(Tensor targets, long ignoreIndex) => targets.ToArray<long>().LongCount(t => t != ignoreIndex);

    private static void CheckNorm(string op, Tensor x, Tensor? w, Tensor? b)
    {
        x.RequireFloating(op);
        if (x.Rank < 1) throw new ShapeException($"{op}: 'x' must have at least 1 dimension, got {x.Shape}");
        int n = x.Size(-1);
        foreach (var (t, nm) in new[] { (w, "weight"), (b, "bias") })
        {
            if (t == null) continue;
            if (t.Rank != 1 || t.Size(0) != n) throw new ShapeException($"{op}: '{nm}' {t.Shape} must be [{n}] to match the last axis of x {x.Shape}");
            SameDType(op, x, t, "x", nm);
            SameDevice(op, x, t, "x", nm);
        }
    }

    /// <summary>RMSNorm over the last axis: returns y and the per-row 1/rms (for backward).</summary>
    public static (Tensor Y, Tensor Rstd) RmsNorm(Tensor x, Tensor? weight, double eps)
    {
        CheckNorm("rms_norm", x, weight, null);
        using var xc = x.Contiguous();
        int n = x.Size(-1);
        using var x2 = xc.View(-1, n);
        using var w = weight?.Contiguous();
        var y = x.EmptyLike();
        using var y2 = y.View(-1, n);
        var rstd = Empty([x2.Size(0)], x.DType, x.Device);
        x.Backend.RmsNorm(x2, w, eps, y2, rstd);
        return (y, rstd);
    }

    private static void CheckSwiGlu(string op, Tensor gate, Tensor up)
    {
        gate.RequireFloating(op, "gate");
        SameDType(op, gate, up, "gate", "up");
        SameDevice(op, gate, up, "gate", "up");
        if (gate.Shape != up.Shape) throw new ShapeException($"{op}: 'gate' {gate.Shape} and 'up' {up.Shape} must have the same shape");
    }

    /// <summary>SwiGLU product <c>SiLU(gate) ⊙ up</c> in one pass (the gated MLP's hidden activation).</summary>
    public static Tensor SwiGlu(Tensor gate, Tensor up)
    {
        CheckSwiGlu("swiglu", gate, up);
        using var a = gate.Contiguous();
        using var b = up.Contiguous();
        var y = gate.EmptyLike();
        gate.Backend.SwiGlu(a, b, y);
        return y;
    }

    /// <summary>Backward of <see cref="SwiGlu"/> for the output gradient dy: (dGate, dUp).</summary>
    public static (Tensor DGate, Tensor DUp) SwiGluBackward(Tensor gate, Tensor up, Tensor dy)
    {
        CheckSwiGlu("swiglu_backward", gate, up);
        SameDType("swiglu_backward", gate, dy, "gate", "dy");
        SameDevice("swiglu_backward", gate, dy, "gate", "dy");
        if (dy.Shape != gate.Shape) throw new ShapeException($"swiglu_backward: 'dy' {dy.Shape} must have the shape of 'gate' {gate.Shape}");
        using var a = gate.Contiguous();
        using var b = up.Contiguous();
        using var g = dy.Contiguous();
        var da = gate.EmptyLike();
        var db = gate.EmptyLike();
        gate.Backend.SwiGluBackward(a, b, g, da, db);
        return (da, db);
    }

    private static void CheckGate(string op, Tensor x, Tensor weight, Tensor u)
    {
        CheckNorm(op, x, weight, null);
        SameDType(op, x, u, "x", "u");
        SameDevice(op, x, u, "x", "u");
        if (u.Shape != x.Shape) throw new ShapeException($"{op}: gate 'u' {u.Shape} must have the shape of x {x.Shape}");
    }

    /// <summary>
    /// LightNet's output gate <c>RMSNorm(x) ⊙ weight ⊙ SiLU(u)</c> over the last axis in one pass: (y, rstd [rows]).
    /// </summary>
    public static (Tensor Y, Tensor Rstd) RmsNormGate(Tensor x, Tensor weight, Tensor u, double eps)
    {
        CheckGate("rms_norm_gate", x, weight, u);
        int n = x.Size(-1);
        using var xc = x.Contiguous(); using var x2 = xc.View(-1, n);
        using var uc = u.Contiguous(); using var u2 = uc.View(-1, n);
        using var w = weight.Contiguous();
        var y = x.EmptyLike();
        using var y2 = y.View(-1, n);
        var rstd = Empty([x2.Size(0)], x.DType, x.Device);
        x.Backend.RmsNormGate(x2, w, u2, eps, y2, rstd);
        return (y, rstd);
    }

    /// <summary>Backward of <see cref="RmsNormGate"/> for the output gradient dy: (dx, dweight, du).</summary>
    public static (Tensor Dx, Tensor Dw, Tensor Du) RmsNormGateBackward(Tensor x, Tensor weight, Tensor u, Tensor rstd, Tensor dy)
    {
        CheckGate("rms_norm_gate_backward", x, weight, u);
        if (dy.Shape != x.Shape) throw new ShapeException($"rms_norm_gate_backward: 'dy' {dy.Shape} must have the shape of x {x.Shape}");
        int n = x.Size(-1);
        using var xc = x.Contiguous(); using var x2 = xc.View(-1, n);
        using var uc = u.Contiguous(); using var u2 = uc.View(-1, n);
        using var gc = dy.Contiguous(); using var g2 = gc.View(-1, n);
        using var w = weight.Contiguous();
        var dx = x.EmptyLike(); var du = x.EmptyLike(); var dw = weight.EmptyLike();
        using var dx2 = dx.View(-1, n); using var du2 = du.View(-1, n);
        x.Backend.RmsNormGateBackward(x2, w, u2, rstd, g2, dx2, dw, du2);
        return (dx, dw, du);
    }

    /// <summary>RMSNorm backward: dx and dweight (null without weight).</summary>
    public static (Tensor Dx, Tensor? Dw) RmsNormBackward(Tensor x, Tensor? weight, Tensor rstd, Tensor dy)
    {
        CheckNorm("rms_norm_backward", x, weight, null);
        int n = x.Size(-1);
        using var xc = x.Contiguous();
        using var gc = dy.Contiguous();
        using var x2 = xc.View(-1, n);
        using var g2 = gc.View(-1, n);
        using var w = weight?.Contiguous();
        var dx = x.EmptyLike();
        using var dx2 = dx.View(-1, n);
        var dw = weight == null ? null : weight.EmptyLike();
        x.Backend.RmsNormBackward(x2, w, rstd, g2, dx2, dw);
        return (dx, dw);
    }

    /// <summary>LayerNorm over the last axis: returns y, mean and 1/std per row.</summary>
    public static (Tensor Y, Tensor Mean, Tensor Rstd) LayerNorm(Tensor x, Tensor? weight, Tensor? bias, double eps)
    {
        CheckNorm("layer_norm", x, weight, bias);
        int n = x.Size(-1);
        using var xc = x.Contiguous();
        using var x2 = xc.View(-1, n);
        using var w = weight?.Contiguous();
        using var b = bias?.Contiguous();
        var y = x.EmptyLike();
        using var y2 = y.View(-1, n);
        var mean = Empty([x2.Size(0)], x.DType, x.Device);
        var rstd = Empty([x2.Size(0)], x.DType, x.Device);
        x.Backend.LayerNorm(x2, w, b, eps, y2, mean, rstd);
        return (y, mean, rstd);
    }

    /// <summary>LayerNorm backward: dx, dweight, dbias.</summary>
    public static (Tensor Dx, Tensor? Dw, Tensor? Db) LayerNormBackward(Tensor x, Tensor? weight, bool hasBias, Tensor mean, Tensor rstd, Tensor dy)
    {
        CheckNorm("layer_norm_backward", x, weight, null);
        int n = x.Size(-1);
        using var xc = x.Contiguous();
        using var gc = dy.Contiguous();
        using var x2 = xc.View(-1, n);
        using var g2 = gc.View(-1, n);
        using var w = weight?.Contiguous();
        var dx = x.EmptyLike();
        using var dx2 = dx.View(-1, n);
        var dw = weight == null ? null : weight.EmptyLike();
        var db = hasBias ? Empty([n], x.DType, x.Device) : null;
        x.Backend.LayerNormBackward(x2, w, mean, rstd, g2, dx2, dw, db);
        return (dx, dw, db);
    }
}
