namespace LightNet.Autograd;

/// <summary>Result of a gradient check: the worst entry found.</summary>
public sealed record GradCheckResult(bool Passed, string Report);

/// <summary>
/// Compares analytic gradients with central finite differences in float64 (PyTorch's defaults:
/// eps 1e-6, atol 1e-5, rtol 1e-3). The scalar checked is <c>Σ f(x) ⊙ w</c> for fixed random w,
/// so every output element contributes.
/// </summary>
public static class GradCheck
{
    /// <summary>Checks <paramref name="f"/> at float64 <paramref name="inputs"/>; every input is differentiated.</summary>
    public static GradCheckResult Check(Func<Variable[], Variable> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, ulong seed = 1234)
    {
        foreach (var t in inputs)
            if (t.DType != DType.Float64) throw new ShapeException($"gradcheck: inputs must be float64, got {t.DType.Name()} {t.Shape}");
        var xs = inputs.Select(t => t.Clone()).ToArray();
        Tensor w;
        using (var probe = f(xs.Select(x => new Variable(x)).ToArray()))
            w = Tensor.RandN(probe.Shape, new Generator(seed), DType.Float64);

        var vars = xs.Select((x, i) => new Variable(x, requiresGrad: true, name: $"input{i}")).ToArray();
        using (var outv = f(vars))
        using (var wv = new Variable(w.Clone()))
        {
            var loss = (outv * wv).Sum();
            loss.Backward();
        }

        double Eval()
        {
            using var _ = NoGrad.Scope();
            using var o = f(xs.Select(x => new Variable(x)).ToArray());
            using var p = o.Data * w;
            using var s = p.Sum();
            return s.Item();
        }

        var report = new System.Text.StringBuilder();
        bool ok = true;
        for (int i = 0; i < xs.Length; i++)
        {
            var analytic = vars[i].Grad?.ToDoubleArray() ?? new double[xs[i].Numel];
            ok &= Compare($"input {i} {xs[i].Shape}", xs[i], analytic, Eval, eps, atol, rtol, report);
        }
        foreach (var v in vars) v.Dispose();
        w.Dispose();
        return new GradCheckResult(ok, report.ToString());
    }

    /// <summary>
    /// Checks the gradients of a scalar <paramref name="loss"/> with respect to float64 leaf variables (e.g. a
    /// module's parameters) against central differences, perturbing each element of their data in place.
    /// </summary>
    public static GradCheckResult CheckParameters(Func<Variable> loss, IReadOnlyList<Variable> parameters, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3)
    {
        foreach (var p in parameters)
        {
            if (p.DType != DType.Float64) throw new ShapeException($"gradcheck: parameter '{p.Name}' must be float64, got {p.DType.Name()} {p.Shape}");
            if (!p.Data.IsContiguous) throw new ShapeException($"gradcheck: parameter '{p.Name}' must be contiguous");
            p.ZeroGrad();
        }
        using (var scope = DisposalScope.Begin()) loss().Backward();
        double Eval()
        {
            using var scope = DisposalScope.Begin();
            using var _ = NoGrad.Scope();
            return loss().Data.Item();
        }
        var report = new System.Text.StringBuilder();
        bool ok = true;
        foreach (var p in parameters)
        {
            var analytic = p.Grad?.ToDoubleArray() ?? new double[p.Data.Numel];
            ok &= Compare($"{p.Name} {p.Shape}", p.Data, analytic, Eval, eps, atol, rtol, report);
            p.ZeroGrad();
        }
        return new GradCheckResult(ok, report.ToString());
    }

    /// <summary>Central differences of <paramref name="eval"/> over every element of <paramref name="x"/> (perturbed in place) against <paramref name="analytic"/>.</summary>
    private static bool Compare(string what, Tensor x, double[] analytic, Func<double> eval, double eps, double atol, double rtol, System.Text.StringBuilder report)
    {
        var data = x.AsSpan<double>();
        double worst = 0;
        bool ok = true;
        for (int j = 0; j < data.Length; j++)
        {
            double keep = data[j];
            data[j] = keep + eps; double fp = eval();
            data[j] = keep - eps; double fm = eval();
            data[j] = keep;
            double numeric = (fp - fm) / (2 * eps);
            double err = Math.Abs(numeric - analytic[j]);
            double bound = atol + rtol * Math.Abs(numeric);
            worst = Math.Max(worst, err / bound);
            if (err > bound && ok)
            {
                ok = false;
                report.AppendLine($"{what} element {j}: analytic {analytic[j]:G10}, numeric {numeric:G10}, |diff| {err:G3} > {bound:G3}");
            }
        }
        report.AppendLine($"{what}: worst error / tolerance = {worst:G3}");
        return ok;
    }
}
