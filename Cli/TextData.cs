using LightNet.Models.Data;

namespace LightNet.Cli;

/// <summary>Text corpora as token streams for the text commands (fetching the data when missing).</summary>
internal static class TextData
{
    /// <summary>Training and held-out id streams (documents separated by EOS).</summary>
    public sealed record Streams(int[] Train, int[] HeldOut);

    /// <summary>Loads <paramref name="corpus"/> and tokenizes both splits.</summary>
    public static Streams Load(string corpus, ITextTokenizer tokenizer)
    {
        var c = TextCorpus.LoadOrFetch(corpus, log: Console.Out);
        return new Streams(TextCorpus.Tokenize(c.Train, tokenizer), TextCorpus.Tokenize(c.Validation, tokenizer));
    }

    /// <summary>Bits per byte follow from nats per token only for the byte-level tokenizer (one byte a token).</summary>
    public static double? BytesPerToken(ITextTokenizer tokenizer) => tokenizer is ByteTokenizer ? 1.0 : null;

    /// <summary>The tokenizer a run was trained with: <paramref name="overrideSpec"/> when given, else the config's (a name or the run's tokenizer.json), else an error.</summary>
    public static ITextTokenizer TokenizerOf(string? configured, string? overrideSpec, string dir) => TextTokenizers.ForRun(dir, configured, overrideSpec);

    /// <summary>Checks that a tokenizer's ids fit the model's vocabulary.</summary>
    public static void CheckVocab(ITextTokenizer tokenizer, int vocabSize, string dir)
    {
        if (tokenizer.VocabSize > vocabSize)
            throw new InvalidDataException($"{dir}: the {tokenizer.Name} tokenizer has {tokenizer.VocabSize} ids but the model only {vocabSize}");
    }
}
