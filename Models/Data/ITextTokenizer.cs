namespace LightNet.Models.Data;

/// <summary>
/// Text ↔ token ids. Ids <c>[0, TextIdCount)</c> are ordinary text tokens; the special ids
/// (<see cref="PadId"/>, <see cref="MaskId"/>, <see cref="BosId"/>, <see cref="EosId"/>) lie at or above
/// <see cref="TextIdCount"/> and below <see cref="VocabSize"/>. <see cref="Encode"/> never emits a special id.
/// </summary>
public interface ITextTokenizer
{
    /// <summary>Short name for messages (<c>byte</c>, <c>gpt2</c>, or a tokenizer.json's file name); config.json records <see cref="TextTokenizers.SaveForRun"/>'s value.</summary>
    string Name { get; }
    /// <summary>Number of ids, specials included: the embedding size a model needs.</summary>
    int VocabSize { get; }
    /// <summary>Number of ordinary text ids (the range that random replacement in masking draws from).</summary>
    int TextIdCount { get; }
    /// <summary>Padding id (attention mask 0, no loss).</summary>
    int PadId { get; }
    /// <summary>Masked-LM <c>[MASK]</c> id.</summary>
    int MaskId { get; }
    /// <summary>Beginning-of-sequence id.</summary>
    int BosId { get; }
    /// <summary>End-of-sequence / document-separator id.</summary>
    int EosId { get; }

    /// <summary>Ids of <paramref name="text"/> (no special ids added).</summary>
    int[] Encode(string text);

    /// <summary>Text of <paramref name="ids"/>: pad, BOS and EOS are dropped, <c>[MASK]</c> is written as "[MASK]".</summary>
    string Decode(IReadOnlyList<int> ids);
}
