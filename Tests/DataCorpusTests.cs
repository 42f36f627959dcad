using LightNet.Models.Data;

namespace LightNet.Tests;

/// <summary>Text corpora on small generated folders: SOTU year split, Brown genre split and tag stripping, Moby-Dick.</summary>
public class DataCorpusTests
{
    private TempDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    [Test]
    public void SotuSplitsByYear()
    {
        foreach (var (y, who) in new[] { (2005, "george_w_bush_r"), (1790, "george_washington_n"), (2006, "george_w_bush_r"), (2021, "joseph_r_biden_d") })
            File.WriteAllText(_dir.File($"{y}_{who}.txt"), $"speech {y}");
        File.WriteAllText(_dir.File("README.txt"), "not an address");
        File.WriteAllText(_dir.File("1999_x_y.json"), "{}");
        var c = TextCorpus.LoadSotu(_dir.Path);
        Assert.That(c.Name, Is.EqualTo("sotu"));
        Assert.That(c.Train, Is.EqualTo(new[] { "speech 1790", "speech 2005" }));
        Assert.That(c.Validation, Is.EqualTo(new[] { "speech 2006", "speech 2021" }));
    }

    [Test]
    public void EmptySotuFolderIsAnError() =>
        Assert.That(() => TextCorpus.LoadSotu(_dir.Path), Throws.TypeOf<InvalidDataException>());

    [Test]
    public void BrownHoldsOutTheLastTenthOfEachGenre()
    {
        for (int i = 1; i <= 11; i++) File.WriteAllText(_dir.File($"ca{i:00}"), $"\n\n\tA/at{i}/cd ./.\n");
        for (int i = 1; i <= 3; i++) File.WriteAllText(_dir.File($"cr{i:00}"), $"\tR/np {i}/cd\n");
        File.WriteAllText(_dir.File("cm01"), "\tonly/rb\n");
        File.WriteAllText(_dir.File("README"), "x");
        File.WriteAllText(_dir.File("cz01"), "\tnot/nn a/at genre/nn\n");
        var c = TextCorpus.LoadBrown(_dir.Path);
        Assert.That(c.Validation, Is.EqualTo(new[] { "A/at10 .\n", "A/at11 .\n", "R 3\n" }));
        Assert.That(c.Train, Has.Count.EqualTo(9 + 2 + 1));
        Assert.That(c.Train[0], Is.EqualTo("A/at1 .\n"));
        Assert.That(c.Train, Does.Contain("only\n"));
        Assert.That(TextCorpus.BrownTestCount(44), Is.EqualTo(5));
        Assert.That(TextCorpus.BrownTestCount(30), Is.EqualTo(3));
        Assert.That(TextCorpus.BrownTestCount(6), Is.EqualTo(1));
        Assert.That(TextCorpus.BrownTestCount(1), Is.EqualTo(0));
    }

    [Test]
    public void BrownTagsAreStrippedAndSentencesKeptPerLine()
    {
        const string tagged = "\n\n\tThe/at Fulton/np-tl said/vbd ``/`` no/at evidence/nn ''/'' ./.\n\n\n\tIt/pps 1/2/cd ok/jj\r\n";
        Assert.That(TextCorpus.BrownPlainText(tagged), Is.EqualTo("The Fulton said \" no evidence \" .\nIt 1/2 ok\n"));
    }

    [Test]
    public void MobyDickIsOneTrainingText()
    {
        File.WriteAllText(_dir.File("data.txt"), "Call me Ishmael.");
        var c = TextCorpus.LoadMobyDick(_dir.File("data.txt"));
        Assert.That((c.Name, c.Train.Count, c.Validation.Count, c.Train[0]), Is.EqualTo(("moby-dick", 1, 0, "Call me Ishmael.")));
    }

    [Test]
    public void TokenizeSeparatesDocumentsWithEos()
    {
        var ids = TextCorpus.Tokenize(["ab", "c"], ByteTokenizer.Instance);
        Assert.That(ids, Is.EqualTo(new[] { 'a', 'b', ByteTokenizer.Eos, 'c', ByteTokenizer.Eos }));
    }

    [Test]
    public void UnknownCorpusIsRejected() =>
        Assert.That(() => TextCorpus.LoadOrFetch("wiki", new DataCache(_dir.Path)), Throws.ArgumentException);
}
