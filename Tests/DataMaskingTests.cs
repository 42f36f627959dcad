using LightNet.Models.Data;

namespace LightNet.Tests;

/// <summary>BERT masking: rates (15%, then 80/10/10), pads untouched, determinism in (seed, step).</summary>
public class DataMaskingTests
{
    private static long[] RandomIds(int n, int vocab, int pads)
    {
        var ids = new long[n];
        for (int i = 0; i < n; i++) ids[i] = (long)(Generator.Uniform(99, (ulong)i) * vocab);
        for (int i = n - pads; i < n; i++) ids[i] = ByteTokenizer.Pad;
        return ids;
    }

    [Test]
    public void RatesMatchBert()
    {
        const int B = 64, T = 4096;
        var ids = RandomIds(B * T, 256, pads: B * T / 4);
        var m = new MaskedLmBatcher(ByteTokenizer.Instance, seed: 7);
        using var batch = m.Mask(ids, B, T, step: 3);
        var inp = batch.InputIds.ToArray<long>();
        var lab = batch.Labels.ToArray<long>();
        var att = batch.AttentionMask.ToArray<long>();
        int real = 0, selected = 0, masked = 0, replaced = 0, kept = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] == ByteTokenizer.Pad)
            {
                Assert.That((att[i], lab[i], inp[i]), Is.EqualTo((0L, -100L, (long)ByteTokenizer.Pad)));
                continue;
            }
            real++;
            Assert.That(att[i], Is.EqualTo(1));
            if (lab[i] == MaskedLmBatcher.IgnoreIndex)
            {
                Assert.That(inp[i], Is.EqualTo(ids[i]));
                continue;
            }
            selected++;
            Assert.That(lab[i], Is.EqualTo(ids[i]));
            if (inp[i] == ByteTokenizer.Mask) masked++;
            else if (inp[i] == ids[i]) kept++;
            else { replaced++; Assert.That(inp[i], Is.InRange(0, 255)); }
        }
        double sel = (double)selected / real;
        Assert.That(sel, Is.EqualTo(0.15).Within(0.003));
        Assert.That((double)masked / selected, Is.EqualTo(0.8).Within(0.01));
        // A random replacement can draw the original id (1/256), which counts as "kept".
        Assert.That((double)replaced / selected, Is.EqualTo(0.1 * 255 / 256).Within(0.006));
        Assert.That((double)kept / selected, Is.EqualTo(0.1 + 0.1 / 256).Within(0.006));
    }

    [Test]
    public void SameSeedAndStepGiveTheSameBatch()
    {
        var ids = RandomIds(8 * 128, 256, pads: 100);
        var a = new MaskedLmBatcher(ByteTokenizer.Instance, seed: 1);
        var b = new MaskedLmBatcher(ByteTokenizer.Instance, seed: 1);
        using var x = a.Mask(ids, 8, 128, step: 5);
        using var unrelated = a.Mask(ids, 8, 128, step: 6);
        using var y = b.Mask(ids, 8, 128, step: 5);
        Assert.That(y.InputIds.ToArray<long>(), Is.EqualTo(x.InputIds.ToArray<long>()));
        Assert.That(y.Labels.ToArray<long>(), Is.EqualTo(x.Labels.ToArray<long>()));
        Assert.That(unrelated.Labels.ToArray<long>(), Is.Not.EqualTo(x.Labels.ToArray<long>()));
        using var otherSeed = new MaskedLmBatcher(ByteTokenizer.Instance, seed: 2).Mask(ids, 8, 128, step: 5);
        Assert.That(otherSeed.Labels.ToArray<long>(), Is.Not.EqualTo(x.Labels.ToArray<long>()));
    }

    [Test]
    public void SequencesArePaddedAndTensorInputMatches()
    {
        var m = new MaskedLmBatcher(ByteTokenizer.Instance, seed: 3, selectProbability: 1.0);
        using var batch = m.Mask([[1, 2, 3], [4, 5, 6, 7, 8, 9]], length: 5, step: 0);
        Assert.That(batch.AttentionMask.ToArray<long>(), Is.EqualTo(new long[] { 1, 1, 1, 0, 0, 1, 1, 1, 1, 1 }));
        Assert.That(batch.Labels.ToArray<long>(), Is.EqualTo(new long[] { 1, 2, 3, -100, -100, 4, 5, 6, 7, 8 }));
        Assert.That(batch.InputIds.Shape.ToArray(), Is.EqualTo(new[] { 2, 5 }));

        using var ids = Tensor.FromArray(new long[] { 1, 2, 3, 256, 256, 4, 5, 6, 7, 8 }, [2, 5]);
        using var again = m.Mask(ids, step: 0);
        Assert.That(again.InputIds.ToArray<long>(), Is.EqualTo(batch.InputIds.ToArray<long>()));
    }

    [Test]
    public void SpecialIdsAreNeverSelected()
    {
        var t = new Gpt2Tokenizer();
        var m = new MaskedLmBatcher(t, seed: 4, selectProbability: 1.0, maskFraction: 0, randomFraction: 1);
        using var batch = m.Mask(new long[] { t.EosId, 10, t.MaskId, 20, t.PadId }, 1, 5, step: 9);
        Assert.That(batch.Labels.ToArray<long>(), Is.EqualTo(new long[] { -100, 10, -100, 20, -100 }));
        var inp = batch.InputIds.ToArray<long>();
        Assert.That(inp[1], Is.InRange(0, t.TextIdCount - 1));
        Assert.That((inp[0], inp[2], inp[4]), Is.EqualTo(((long)t.EosId, (long)t.MaskId, (long)t.PadId)));
    }
}
