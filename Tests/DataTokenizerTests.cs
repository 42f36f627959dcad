using LightNet.Models.Data;

namespace LightNet.Tests;

/// <summary>Byte and GPT-2 tokenizers: round trips, special ids, stable GPT-2 ids.</summary>
public class DataTokenizerTests
{
    [TestCase("Hello, world!")]
    [TestCase("")]
    [TestCase("naïve café — 日本語 🙂\n\ttabs")]
    public void ByteRoundTrip(string text)
    {
        var t = ByteTokenizer.Instance;
        var ids = t.Encode(text);
        Assert.That(ids, Has.All.InRange(0, 255));
        Assert.That(ids, Has.Length.EqualTo(System.Text.Encoding.UTF8.GetByteCount(text)));
        Assert.That(t.Decode(ids), Is.EqualTo(text));
    }

    [Test]
    public void ByteSpecialIds()
    {
        ITextTokenizer t = TextTokenizers.Create("byte");
        Assert.That((t.PadId, t.MaskId, t.BosId, t.EosId, t.TextIdCount, t.VocabSize), Is.EqualTo((256, 257, 258, 259, 256, 260)));
        Assert.That(t.Decode([258, 'a', 257, 'b', 256, 256, 259]), Is.EqualTo("a[MASK]b"));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([260]));
        Assert.That(t.Decode([0xC3]), Is.EqualTo("\uFFFD"));
    }

    [Test]
    public void Gpt2KnownIds()
    {
        var t = new Gpt2Tokenizer();
        // GPT-2 BPE ids of "Hello world" are [15496, 995].
        Assert.That(t.Encode("Hello world"), Is.EqualTo(new[] { 15496, 995 }));
        const string s = "The quick brown fox jumps over the lazy dog.";
        var ids = t.Encode(s);
        Assert.That(ids, Is.EqualTo(new[] { 464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13 }));
        Assert.That(t.Decode(ids), Is.EqualTo(s));
    }

    [TestCase("State of the Union: We, the people, will prevail in 2021!")]
    [TestCase("  leading spaces, naïve café and 🙂 emoji\nnew line")]
    public void Gpt2RoundTrip(string text)
    {
        var t = TextTokenizers.Create("gpt2");
        var ids = t.Encode(text);
        Assert.That(ids, Has.All.InRange(0, t.TextIdCount - 1));
        Assert.That(t.Decode(ids), Is.EqualTo(text));
    }

    [Test]
    public void Gpt2SpecialIds()
    {
        var t = new Gpt2Tokenizer();
        Assert.That((t.EosId, t.BosId, t.PadId, t.MaskId, t.TextIdCount, t.VocabSize), Is.EqualTo((50256, 50256, 50257, 50258, 50256, 50259)));
        var ids = t.Encode("a b");
        Assert.That(t.Decode([50256, .. ids, 50258, 50257]), Is.EqualTo("a b[MASK]"));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([50259]));
    }

    [Test]
    public void Gpt2EncodesSpecialTokenTextAsText()
    {
        var t = new Gpt2Tokenizer();
        var ids = t.Encode("a<|endoftext|>b");
        Assert.That(ids, Has.None.EqualTo(Gpt2Tokenizer.EndOfText));
        Assert.That(t.Decode(ids), Is.EqualTo("a<|endoftext|>b"));
    }

    [Test]
    public void Gpt2MatchesTheLibraryModelOnOrdinaryText()
    {
        var reference = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForModel("gpt2");
        var t = new Gpt2Tokenizer();
        foreach (var s in new[] { "It's 1790: we'll see, they've said!  Spaces   and\ttabs\n\n", "naïve café — 日本語 🙂 123456789", "Mr. O'Neil's 3.14 don't" })
            Assert.That(t.Encode(s), Is.EqualTo(reference.EncodeToIds(s).ToArray()), s);
    }

    [Test]
    public void UnknownTokenizerNameIsRejected() =>
        Assert.That(() => TextTokenizers.Create("wordpiece"), Throws.ArgumentException.With.Message.Contains("byte, gpt2"));
}
