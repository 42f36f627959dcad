using System.Text;

namespace LightNet.Models.Data;

/// <summary>
/// Byte-level tokenizer: the UTF-8 bytes of the text are the ids 0–255; then <c>[PAD]</c> = 256,
/// <c>[MASK]</c> = 257, <c>[BOS]</c> = 258, <c>[EOS]</c> = 259; <see cref="VocabSize"/> = 260.
/// Decoding replaces invalid UTF-8 with U+FFFD.
/// </summary>
public sealed class ByteTokenizer : ITextTokenizer
{
    /// <summary>The <c>[PAD]</c> id.</summary>
    public const int Pad = 256;
    /// <summary>The <c>[MASK]</c> id.</summary>
    public const int Mask = 257;
    /// <summary>The <c>[BOS]</c> id.</summary>
    public const int Bos = 258;
    /// <summary>The <c>[EOS]</c> id.</summary>
    public const int Eos = 259;

    /// <summary>A shared instance (the tokenizer has no state).</summary>
    public static ByteTokenizer Instance { get; } = new();

    /// <inheritdoc/>
    public string Name => "byte";
    /// <inheritdoc/>
    public int VocabSize => 260;
    /// <inheritdoc/>
    public int TextIdCount => 256;
    /// <inheritdoc/>
    public int PadId => Pad;
    /// <inheritdoc/>
    public int MaskId => Mask;
    /// <inheritdoc/>
    public int BosId => Bos;
    /// <inheritdoc/>
    public int EosId => Eos;

    /// <inheritdoc/>
    public int[] Encode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var ids = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) ids[i] = bytes[i];
        return ids;
    }

    /// <inheritdoc/>
    public string Decode(IReadOnlyList<int> ids) =>
        SpecialTokenDecoder.Decode(this, ids, run => Encoding.UTF8.GetString(run.Select(i => (byte)i).ToArray()));
}
