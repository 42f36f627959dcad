using LightNet.Models.Data;

namespace LightNet.Tests;

/// <summary>The Moving Fashion-MNIST generator on a synthetic source: deterministic, seeded, bouncing inside the frame, labelled right.</summary>
public class VideoDataTests
{
    private const int N = 6;

    /// <summary>N synthetic 28×28 images (every pixel ≥ 1/255, so a garment's footprint is visible) with labels n mod 3.</summary>
    internal static (float[] Pixels, long[] Labels) Source(int n = N)
    {
        var px = new float[n * 28 * 28];
        for (int i = 0; i < n; i++)
            for (int r = 0; r < 28; r++)
                for (int c = 0; c < 28; c++)
                    px[(i * 28 + r) * 28 + c] = (byte)(1 + (i * 31 + r * 28 + c) % 255) / 255f;
        return (px, Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray());
    }

    private static MovingFashionMnist Set(MovingFashionMnistOptions o, bool train = true)
    {
        var (px, lb) = Source();
        return new MovingFashionMnist(px, lb, train, o);
    }

    private static float[] Clip(MovingFashionMnist d, int i)
    {
        var f = new float[d.ClipLength];
        d.Render(i, f);
        return f;
    }

    [Test]
    public void SameClipTwiceIsBitwiseEqual()
    {
        var o = new MovingFashionMnistOptions(Frames: 8, Size: 40, Garments: 2, Seed: 5);
        var a = Set(o);
        for (int i = 0; i < N; i++)
        {
            var x = Clip(a, i);
            Assert.That(Clip(a, i), Is.EqualTo(x), $"clip {i} rendered twice");
            Assert.That(Clip(Set(o), i), Is.EqualTo(x), $"clip {i} from a fresh set");
        }
        var (batch, labels) = a.Batch([4, 1]);
        Assert.That(batch.Shape, Is.EqualTo(new Shape(2, 1, 8, 40, 40)));
        Assert.That(batch.ToArray<float>().AsSpan(0, a.ClipLength).ToArray(), Is.EqualTo(Clip(a, 4)));
        Assert.That(labels.ToArray<long>(), Is.EqualTo(new long[] { 4 % 3, 1 }));
    }

    [Test]
    public void SeedsAndSplitsGiveOtherClips()
    {
        var o = new MovingFashionMnistOptions(Frames: 4, Size: 40);
        for (int i = 0; i < N; i++)
        {
            var x = Clip(Set(o), i);
            Assert.That(Clip(Set(o with { Seed = 1 }), i), Is.Not.EqualTo(x), $"clip {i}: seed 1 vs 0");
            Assert.That(Clip(Set(o, train: false), i), Is.Not.EqualTo(x), $"clip {i}: test split vs train");
        }
    }

    [Test]
    public void GarmentsBounceAndStayInsideTheFrame()
    {
        foreach (var (size, speed) in new[] { (64, 3), (31, 3), (29, 1), (36, 8) })
            for (ulong seed = 0; seed < 20; seed++)
            {
                var d = Set(new MovingFashionMnistOptions(Frames: 40, Size: size, Garments: 2, MaxSpeed: speed, Seed: seed));
                int R = size - 28;
                for (int i = 0; i < N; i++)
                    foreach (var g in d.Trajectories(i).Garments)
                    {
                        var p = g.Positions;
                        Assert.That(p.All(q => q.Row >= 0 && q.Row <= R && q.Col >= 0 && q.Col <= R), $"size {size} seed {seed} clip {i}: inside [0, {R}]");
                        foreach (var axis in new Func<(int Row, int Col), int>[] { q => q.Row, q => q.Col })
                        {
                            var path = p.Select(axis).ToArray();
                            // The path is the bounce rule's from its start for one velocity in ±1 … ±speed.
                            var fits = Enumerable.Range(-speed, 2 * speed + 1).Where(v0 => v0 != 0 && Bounce(path[0], v0, R, path.Length).SequenceEqual(path)).ToList();
                            Assert.That(fits, Is.Not.Empty, $"size {size} seed {seed} clip {i}: path {string.Join(",", path)}");
                        }
                    }
            }
    }

    private static int[] Bounce(int p, int v, int r, int n)
    {
        var path = new int[n];
        for (int t = 0; t < n; t++)
        {
            path[t] = p;
            p += v;
            if (p < 0) { p = -p; v = -v; }
            else if (p > r) { p = 2 * r - p; v = -v; }
        }
        return path;
    }

    [Test]
    public void FramesShowTheGarmentAtItsPositionAndTheLabelIsItsClass()
    {
        var (px, lb) = Source();
        var d = Set(new MovingFashionMnistOptions(Frames: 5, Size: 33, MaxSpeed: 2, Seed: 3), train: false);
        int S = 33;
        for (int i = 0; i < N; i++)
        {
            var f = Clip(d, i);
            var (garments, label) = d.Trajectories(i);
            Assert.That(label, Is.EqualTo(lb[i]));
            Assert.That(garments[0].Source, Is.EqualTo(i));
            for (int t = 0; t < 5; t++)
            {
                var (row, col) = garments[0].Positions[t];
                int covered = 0;
                for (int y = 0; y < S; y++)
                    for (int x = 0; x < S; x++)
                    {
                        float v = f[(t * S + y) * S + x];
                        bool inside = y >= row && y < row + 28 && x >= col && x < col + 28;
                        Assert.That(v, Is.EqualTo(inside ? px[(i * 28 + y - row) * 28 + x - col] : 0f), $"clip {i} frame {t} pixel ({y}, {x})");
                        covered += inside ? 1 : 0;
                    }
                Assert.That(covered, Is.EqualTo(28 * 28));
            }
        }
    }

    [Test]
    public void TheDistractorIsAnotherClassAtHalfBrightness()
    {
        var (px, lb) = Source();
        var d = Set(new MovingFashionMnistOptions(Frames: 3, Size: 40, Garments: 2, Seed: 9));
        for (int i = 0; i < N; i++)
        {
            var (g, label) = d.Trajectories(i);
            Assert.That(label, Is.EqualTo(lb[i]));
            Assert.That(lb[g[1].Source], Is.Not.EqualTo(lb[i]), $"clip {i}: distractor class");
            Assert.That(g[1].Brightness, Is.EqualTo(0.5f));
            var f = Clip(d, i);
            var (r0, c0) = g[0].Positions[2];
            var (r1, c1) = g[1].Positions[2];
            // Any pixel of frame 2 is the max of what the two garments put there.
            for (int y = 0; y < 40; y++)
                for (int x = 0; x < 40; x++)
                {
                    float a = y >= r0 && y < r0 + 28 && x >= c0 && x < c0 + 28 ? px[(i * 28 + y - r0) * 28 + x - c0] : 0f;
                    float b = y >= r1 && y < r1 + 28 && x >= c1 && x < c1 + 28 ? 0.5f * px[(g[1].Source * 28 + y - r1) * 28 + x - c1] : 0f;
                    Assert.That(f[(2 * 40 + y) * 40 + x], Is.EqualTo(Math.Max(a, b)));
                }
        }
    }

    /// <summary>The documented worked example (docs/video.md): any reimplementation must reproduce these numbers.</summary>
    [Test]
    public void PinnedTrajectoriesOfTheDocumentedExample()
    {
        var d = Set(new MovingFashionMnistOptions());
        Assert.That(d.Key(0), Is.EqualTo(PinnedKey), "key of train clip 0, seed 0");
        var p = d.Trajectories(0).Garments[0].Positions;
        Assert.That(string.Join(" ", p.Take(6).Select(q => $"({q.Row},{q.Col})")), Is.EqualTo(PinnedPath));
    }

    // Computed by the independent Python transcription of the documented generator (docs/video.md), not by this code.
    private const ulong PinnedKey = 11644195906162061172UL;
    private const string PinnedPath = "(3,24) (0,27) (3,30) (6,33) (9,36) (12,33)";

    [Test]
    public void SettingsOutOfRangeAreRefused()
    {
        var (px, lb) = Source();
        Assert.Throws<ArgumentException>(() => new MovingFashionMnist(px, lb, true, new MovingFashionMnistOptions(Size: 30)), "size < 28 + speed");
        Assert.Throws<ArgumentException>(() => new MovingFashionMnist(px, lb, true, new MovingFashionMnistOptions(Garments: 3)));
        Assert.Throws<ArgumentException>(() => new MovingFashionMnist(px, lb, true, new MovingFashionMnistOptions(Frames: 0)));
        Assert.Throws<ArgumentException>(() => new MovingFashionMnist(px.AsMemory(0, 100), lb, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => Set(new MovingFashionMnistOptions()).Trajectories(N));
    }
}
