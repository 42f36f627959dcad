using LightNet.Models.Diffusion;

namespace LightNet.Models.Data;

/// <summary>Settings of a <see cref="MovingFashionMnist"/> set (see its documentation for the generator).</summary>
/// <param name="Frames">Frames F per clip.</param>
/// <param name="Size">Side S of a square frame in pixels (S ≥ 28 + <paramref name="MaxSpeed"/>).</param>
/// <param name="Garments">Garments per clip: 1, or 2 with a half-bright distractor of another class.</param>
/// <param name="MaxSpeed">Largest speed per axis in pixels per frame; each axis moves by ±1 … ±MaxSpeed.</param>
/// <param name="Seed">Data seed: the same (seed, split, index) gives the same clip bit for bit.</param>
public sealed record MovingFashionMnistOptions(int Frames = 16, int Size = 64, int Garments = 1, int MaxSpeed = 3, ulong Seed = 0)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Frames < 1) throw new ArgumentException($"moving fashion-mnist: frames must be at least 1, got {Frames}");
        if (MaxSpeed < 1) throw new ArgumentException($"moving fashion-mnist: max speed must be at least 1, got {MaxSpeed}");
        if (Size < FashionMnist.Size + MaxSpeed)
            throw new ArgumentException($"moving fashion-mnist: frame size {Size} leaves the 28-pixel garment less room than its speed {MaxSpeed} (need ≥ {FashionMnist.Size + MaxSpeed})");
        if (Garments is < 1 or > 2) throw new ArgumentException($"moving fashion-mnist: garments must be 1 or 2, got {Garments}");
    }
}

/// <summary>
/// Moving Fashion-MNIST: clips of <c>F</c> frames of <c>S×S</c> grey pixels in which Fashion-MNIST garments (28×28)
/// move in straight lines and bounce off the frame's edges; the label of a clip is the class of its garment. Clips are
/// generated on demand from (seed, split, index) and never stored. Clip <c>i</c> of a split shows image <c>i</c> of
/// that split of Fashion-MNIST (train clips from the 60,000 train images, test clips from the 10,000 test images), so
/// a split holds as many clips as its source images.
/// <para>The generator, exactly (integer arithmetic only, so any implementation reproduces every clip bit for bit):</para>
/// <list type="number">
/// <item><c>R = S − 28</c> (the largest top-left coordinate), <c>M</c> = max speed (1 ≤ M ≤ R), split id <c>s</c> = 0
/// for train, 1 for test.</item>
/// <item>Clip key <c>key = mix(mix(seed ^ mix(i + 0x9E3779B97F4A7C15)) ^ mix(s + 0xD1B54A32D192ED03))</c>
/// (<see cref="StreamKey.Of"/>), all arithmetic mod 2⁶⁴, with the SplitMix64 finaliser <c>mix(z)</c>:
/// <c>z ← (z ^ (z >> 30))·0xBF58476D1CE4E5B9; z ← (z ^ (z >> 27))·0x94D049BB133111EB; return z ^ (z >> 31)</c>.</item>
/// <item>Garment <c>g</c> (0, then the distractor 1) takes the four 32-bit words <c>(w0, w1, w2, w3) =
/// Philox4x32-10(counter 2g, key)</c> (<see cref="Generator.Philox"/>): start column <c>x = w0 mod (R+1)</c>, start row
/// <c>y = w1 mod (R+1)</c>, velocity <c>vx = V(w2)</c>, <c>vy = V(w3)</c> with <c>V(w) = a + 1</c> if <c>a &lt; M</c> else
/// <c>−(a − M + 1)</c>, <c>a = w mod 2M</c> (so ±1 … ±M, never 0).</item>
/// <item>Garment 0 is source image <c>i</c>. A distractor (garments = 2) is the first of the source images
/// <c>u mod N</c> for the words <c>u</c> of <c>Philox4x32-10(counter 2g + 1, key)</c> in order whose class differs from
/// garment 0's (the last word's image when none does), drawn at half brightness.</item>
/// <item>Frame t = 0 … F−1: every garment is drawn with its top-left pixel at (row y, column x), frame pixel =
/// max over the garments of brightness × (source byte / 255) (float32; 0 where no garment covers it); then each
/// axis moves: <c>x ← x + vx</c>; if <c>x &lt; 0</c>: <c>x ← −x, vx ← −vx</c>; if <c>x &gt; R</c>:
/// <c>x ← 2R − x, vx ← −vx</c> (the same for y), so the garment always lies wholly inside the frame.</item>
/// </list>
/// </summary>
public sealed class MovingFashionMnist
{
    private const int G = FashionMnist.Size;
    private readonly ReadOnlyMemory<float> _pixels;
    private readonly ReadOnlyMemory<long> _labels;

    /// <summary>Clips over source images <paramref name="pixels"/> (float32 [N, 28, 28] = byte / 255) with labels <paramref name="labels"/> [N]; <paramref name="train"/> picks the split id.</summary>
    public MovingFashionMnist(ReadOnlyMemory<float> pixels, ReadOnlyMemory<long> labels, bool train, MovingFashionMnistOptions? options = null)
    {
        Options = options ?? new MovingFashionMnistOptions();
        Options.Validate();
        if (labels.Length == 0 || pixels.Length != (long)labels.Length * G * G)
            throw new ArgumentException($"moving fashion-mnist: {pixels.Length} pixels do not make {labels.Length} (≥ 1) images of 28×28");
        _pixels = pixels;
        _labels = labels;
        Train = train;
    }

    /// <summary>Clips over a loaded Fashion-MNIST split.</summary>
    public static MovingFashionMnist From(FashionMnist source, MovingFashionMnistOptions? options = null) =>
        new(source.Pixels, source.LabelArray, source.Train, options);

    /// <summary>The generator's settings.</summary>
    public MovingFashionMnistOptions Options { get; }
    /// <summary>Whether the clips come from the train split (split id 0) or the test split (1).</summary>
    public bool Train { get; }
    /// <summary>Number of clips: one per source image.</summary>
    public int Count => _labels.Length;
    /// <summary>Number of classes.</summary>
    public int Classes => FashionMnist.ClassNames.Count;
    /// <summary>Floats per clip: F·S·S (one channel).</summary>
    public int ClipLength => Options.Frames * Options.Size * Options.Size;

    /// <summary>Key of clip <paramref name="index"/>'s random stream (step 2 of the generator).</summary>
    public ulong Key(int index) => StreamKey.Of(Options.Seed, (ulong)index, Train ? 0UL : 1UL);

    /// <summary>One garment of a clip: its source image, brightness and top-left (row, column) in every frame.</summary>
    public readonly record struct Garment(int Source, float Brightness, (int Row, int Col)[] Positions);

    /// <summary>The garments of clip <paramref name="index"/> and its label (steps 3–5 of the generator, without drawing).</summary>
    public (Garment[] Garments, long Label) Trajectories(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), $"moving fashion-mnist: clip {index} is not in [0, {Count})");
        var o = Options;
        int R = o.Size - G, M = o.MaxSpeed;
        ulong key = Key(index);
        var labels = _labels.Span;
        var garments = new Garment[o.Garments];
        for (int g = 0; g < o.Garments; g++)
        {
            var (w0, w1, w2, w3) = Generator.Philox(2UL * (ulong)g, key);
            int x = (int)(w0 % (uint)(R + 1)), y = (int)(w1 % (uint)(R + 1));
            int vx = Velocity(w2, M), vy = Velocity(w3, M);
            int source = index;
            if (g > 0)
            {
                var (u0, u1, u2, u3) = Generator.Philox(2UL * (ulong)g + 1, key);
                uint[] words = [u0, u1, u2, u3];
                foreach (var u in words)
                {
                    source = (int)(u % (uint)Count);
                    if (labels[source] != labels[index]) break;
                }
            }
            var pos = new (int, int)[o.Frames];
            for (int t = 0; t < o.Frames; t++)
            {
                pos[t] = (y, x);
                Step(ref x, ref vx, R);
                Step(ref y, ref vy, R);
            }
            garments[g] = new Garment(source, g == 0 ? 1f : 0.5f, pos);
        }
        return (garments, labels[index]);
    }

    private static int Velocity(uint w, int m)
    {
        int a = (int)(w % (uint)(2 * m));
        return a < m ? a + 1 : -(a - m + 1);
    }

    private static void Step(ref int p, ref int v, int r)
    {
        p += v;
        if (p < 0) { p = -p; v = -v; }
        else if (p > r) { p = 2 * r - p; v = -v; }
    }

    /// <summary>Draws clip <paramref name="index"/> into <paramref name="frames"/> (F·S·S floats, frame-major, row-major) and returns its label.</summary>
    public long Render(int index, Span<float> frames)
    {
        if (frames.Length != ClipLength) throw new ArgumentException($"moving fashion-mnist: clip buffer holds {frames.Length} floats, expected {ClipLength}");
        var (garments, label) = Trajectories(index);
        frames.Clear();
        int S = Options.Size;
        var src = _pixels.Span;
        foreach (var gm in garments)
        {
            var img = src.Slice(gm.Source * G * G, G * G);
            for (int t = 0; t < gm.Positions.Length; t++)
            {
                var (row, col) = gm.Positions[t];
                var frame = frames.Slice(t * S * S, S * S);
                for (int r = 0; r < G; r++)
                {
                    var dst = frame.Slice((row + r) * S + col, G);
                    var line = img.Slice(r * G, G);
                    for (int c = 0; c < G; c++) dst[c] = Math.Max(dst[c], gm.Brightness * line[c]);
                }
            }
        }
        return label;
    }

    /// <summary>New CPU tensors for the given clips: float32 [B, 1, F, S, S] and int64 labels [B].</summary>
    public (Tensor Clips, Tensor Labels) Batch(int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int per = ClipLength;
        var px = new float[(long)indices.Length * per];
        var lb = new long[indices.Length];
        for (int b = 0; b < indices.Length; b++) lb[b] = Render(indices[b], px.AsSpan(b * per, per));
        return (Tensor.FromArray(px, [indices.Length, 1, Options.Frames, Options.Size, Options.Size]), Tensor.FromArray(lb));
    }
}
