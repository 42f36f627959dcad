namespace LightNet.Cli.Golden;

/// <summary>
/// The computation behind one golden-file <c>kind</c>: runs it with the file's inputs, parameters and
/// config (through the <see cref="GoldenContext"/>) and returns every tensor to compare, keyed by the
/// file's tensor name (outputs such as <c>o</c> or <c>logits</c>, gradients such as <c>dq</c> or <c>grad/x</c>).
/// Implementations need a public parameterless constructor: <see cref="GoldenKinds"/> finds them by reflection.
/// </summary>
public interface IGoldenKind
{
    /// <summary>The metadata <c>kind</c> this handles, e.g. <c>scan_causal</c>.</summary>
    string Kind { get; }

    /// <summary>Computes the tensors to compare; the runner disposes them.</summary>
    IReadOnlyDictionary<string, Tensor> Run(GoldenContext context);
}
