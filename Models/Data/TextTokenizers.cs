namespace LightNet.Models.Data;

/// <summary>Creates a tokenizer by name.</summary>
public static class TextTokenizers
{
    /// <summary>The accepted names: <c>byte</c> (default) and <c>gpt2</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["byte", "gpt2"];

    /// <summary>The tokenizer called <paramref name="name"/>.</summary>
    public static ITextTokenizer Create(string name) => name switch
    {
        "byte" => ByteTokenizer.Instance,
        "gpt2" => new Gpt2Tokenizer(),
        _ => throw new ArgumentException($"unknown tokenizer '{name}' (expected {string.Join(", ", Names)})"),
    };
}
