namespace LightNet.Autograd;

/// <summary>
/// Anomaly detection: while <see cref="Enabled"/>, every op recorded into the autograd graph has its forward output
/// checked for NaN/∞, and every backward rule the gradients it returns; the first offender is a
/// <see cref="NonFiniteValueException"/> naming the op (forward) or the op whose rule it is (backward), with the shapes.
/// Process-wide (the CLI's <c>--detect-anomaly</c> sets it for the whole run), and slow: each check is a reduction and a
/// read back to the host. Ops under <see cref="NoGrad"/> or on inputs that need no gradient are not recorded and not
/// checked. A model that puts −∞ into its forward on purpose (a mask) trips it.
/// </summary>
public static class AnomalyMode
{
    private static volatile bool _enabled;

    /// <summary>Whether recorded ops and backward rules are checked.</summary>
    public static bool Enabled { get => _enabled; set => _enabled = value; }

    /// <summary>Turns the mode on until disposed (then back to what it was).</summary>
    public static IDisposable Scope(bool enabled = true) => new Restore(enabled);

    private sealed class Restore : IDisposable
    {
        private readonly bool _previous = Enabled;
        private bool _closed;
        public Restore(bool enabled) => Enabled = enabled;
        public void Dispose()
        {
            if (_closed) return;
            _closed = true;
            Enabled = _previous;
        }
    }

    /// <summary>True when a floating tensor holds a NaN or an infinity (x·0 is 0 for finite x and NaN otherwise; the sum of zeros is exactly 0).</summary>
    internal static bool HasNonFinite(Tensor t)
    {
        if (!t.DType.IsFloating() || t.Numel == 0) return false;
        using var zero = t * 0.0;
        using var s = zero.Sum();
        return !double.IsFinite(s.Item());
    }

    internal static void CheckForward(string op, Tensor result, Variable[] inputs)
    {
        if (!HasNonFinite(result)) return;
        throw new NonFiniteValueException(op, forward: true,
            $"anomaly: op '{op}' produced NaN or ∞ in its forward output {result.Shape} from inputs {Describe(inputs.Select(v => (v.Name, v.Shape)))}");
    }

    internal static void CheckBackward(string op, Tensor gradOutput, Variable[] inputs, Tensor?[] grads)
    {
        for (int k = 0; k < grads.Length; k++)
        {
            var g = grads[k];
            if (g == null || !HasNonFinite(g)) continue;
            var input = k < inputs.Length ? inputs[k] : null;
            throw new NonFiniteValueException(op, forward: false,
                $"anomaly: the backward rule of op '{op}' produced NaN or ∞ in the gradient {g.Shape} of its input {k}" +
                $"{(input != null ? $" ({input.Name ?? "unnamed"}, {input.Shape})" : "")} from a finite output gradient {gradOutput.Shape}; inputs {Describe(inputs.Select(v => (v.Name, v.Shape)))}");
        }
    }

    private static string Describe(IEnumerable<(string? Name, Shape Shape)> inputs) =>
        "[" + string.Join(", ", inputs.Select(i => i.Name != null ? $"{i.Name} {i.Shape}" : i.Shape.ToString())) + "]";
}

/// <summary>A NaN or ∞ found by <see cref="AnomalyMode"/>: the op that produced it, in its forward or its backward rule.</summary>
public sealed class NonFiniteValueException(string op, bool forward, string message) : ArithmeticException(message)
{
    /// <summary>The op's name as recorded (e.g. <c>log</c>).</summary>
    public string Op { get; } = op;
    /// <summary>True when the forward output was not finite, false for a gradient of the backward rule.</summary>
    public bool Forward { get; } = forward;
}
