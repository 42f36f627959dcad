using System.Text;
using Microsoft.ML.Tokenizers;

namespace LightNet.Models.Data;

/// <summary>
/// GPT-2 byte-level BPE (Microsoft.ML.Tokenizers' tiktoken tokenizer with the <c>gpt2</c> data package):
/// ids 0–50255 are BPE tokens, 50256 is <c>&lt;|endoftext|&gt;</c> (BOS and EOS), then <c>[PAD]</c> = 50257
/// and <c>[MASK]</c> = 50258 are added after the vocabulary; <see cref="VocabSize"/> = 50259.
/// </summary>
public sealed class Gpt2Tokenizer : ITextTokenizer
{
    /// <summary>The <c>&lt;|endoftext|&gt;</c> id (used as BOS and EOS).</summary>
    public const int EndOfText = 50256;
    /// <summary>The added <c>[PAD]</c> id.</summary>
    public const int Pad = 50257;
    /// <summary>The added <c>[MASK]</c> id.</summary>
    public const int Mask = 50258;

    private static readonly Lazy<Tokenizer> Shared = new(() => TiktokenTokenizer.CreateForModel("gpt2"));
    private readonly Tokenizer _bpe;

    /// <summary>Loads the GPT-2 vocabulary from the data package (cached per process).</summary>
    public Gpt2Tokenizer() => _bpe = Shared.Value;

    /// <inheritdoc/>
    public string Name => "gpt2";
    /// <inheritdoc/>
    public int VocabSize => 50259;
    /// <inheritdoc/>
    public int TextIdCount => EndOfText;
    /// <inheritdoc/>
    public int PadId => Pad;
    /// <inheritdoc/>
    public int MaskId => Mask;
    /// <inheritdoc/>
    public int BosId => EndOfText;
    /// <inheritdoc/>
    public int EosId => EndOfText;

    /// <inheritdoc/>
    public int[] Encode(string text)
    {
        var ids = _bpe.EncodeToIds(text);
        var r = new int[ids.Count];
        for (int i = 0; i < r.Length; i++) r[i] = ids[i];
        return r;
    }

    /// <inheritdoc/>
    public string Decode(IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var sb = new StringBuilder();
        var run = new List<int>();
        foreach (var id in ids)
        {
            if (id is >= 0 and < EndOfText) { run.Add(id); continue; }
            if (id is < 0 or >= 50259) throw new ArgumentOutOfRangeException(nameof(ids), $"gpt2 tokenizer: id {id} is not in [0, {VocabSize})");
            if (id != Mask) continue;
            Flush();
            sb.Append("[MASK]");
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (run.Count > 0) sb.Append(_bpe.Decode(run));
            run.Clear();
        }
    }
}
