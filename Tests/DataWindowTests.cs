using LightNet.Models.Data;

namespace LightNet.Tests;

/// <summary>Token windows for LM batches: contiguous slices, determinism in (seed, step), sequential cover.</summary>
public class DataWindowTests
{
    private static readonly int[] Stream = Enumerable.Range(0, 1000).ToArray();

    [Test]
    public void RandomBatchesAreContiguousAndDeterministic()
    {
        var w = new TokenWindows(Stream, 16);
        using var a = w.RandomBatch(8, seed: 5, step: 2);
        using var b = w.RandomBatch(8, seed: 5, step: 2);
        using var c = w.RandomBatch(8, seed: 5, step: 3);
        var x = a.ToArray<long>();
        Assert.That(a.Shape.ToArray(), Is.EqualTo(new[] { 8, 16 }));
        Assert.That(b.ToArray<long>(), Is.EqualTo(x));
        Assert.That(c.ToArray<long>(), Is.Not.EqualTo(x));
        for (int r = 0; r < 8; r++)
            for (int t = 1; t < 16; t++) Assert.That(x[r * 16 + t], Is.EqualTo(x[r * 16] + t));
        Assert.That(x, Has.All.InRange(0, 999));
    }

    [Test]
    public void SequentialCoversTheStream()
    {
        var w = new TokenWindows(Stream, 300);
        Assert.That(w.SequentialCount, Is.EqualTo(3));
        using var all = w.Sequential(0, 10);
        Assert.That(all.ToArray<long>(), Is.EqualTo(Enumerable.Range(0, 900).Select(i => (long)i).ToArray()));
        using var last = w.Sequential(2, 10);
        Assert.That(last.Shape.ToArray(), Is.EqualTo(new[] { 1, 300 }));
        Assert.Throws<ArgumentException>(() => _ = new TokenWindows([1, 2], 3));
    }
}
