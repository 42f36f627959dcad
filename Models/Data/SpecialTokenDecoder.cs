using System.Text;

namespace LightNet.Models.Data;

/// <summary>The decoding rule shared by the tokenizers: text ids in runs, <c>[MASK]</c> written out, other specials dropped.</summary>
internal static class SpecialTokenDecoder
{
    /// <summary>Decodes <paramref name="ids"/>, passing each run of text ids to <paramref name="decodeText"/>.</summary>
    public static string Decode(ITextTokenizer tokenizer, IReadOnlyList<int> ids, Func<List<int>, string> decodeText)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var sb = new StringBuilder();
        var run = new List<int>();
        foreach (var id in ids)
        {
            if (id >= 0 && id < tokenizer.TextIdCount) { run.Add(id); continue; }
            if (id < 0 || id >= tokenizer.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(ids), $"{tokenizer.Name} tokenizer: id {id} is not in [0, {tokenizer.VocabSize})");
            if (id != tokenizer.MaskId) continue;
            Flush();
            sb.Append("[MASK]");
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (run.Count > 0) sb.Append(decodeText(run));
            run.Clear();
        }
    }
}
