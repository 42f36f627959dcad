using System.Collections.Concurrent;
using System.Numerics;

namespace LightNet.Cpu;

/// <summary>
/// In-place radix-2 complex FFT on split real/imaginary arrays (iterative, decimation in time, per-stage
/// contiguous twiddles so that the butterflies of wide stages run on <see cref="Vector{T}"/>), plus the
/// k-dimensional transform over a row-major grid with optional pruning of zero / unused lines.
/// </summary>
internal sealed class Fft<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly ConcurrentDictionary<int, Fft<T>> Cache = new();
    private readonly int[] _rev;
    private readonly T[] _wr, _wi;

    /// <summary>Transform length (a power of two).</summary>
    public int Length { get; }

    private Fft(int n)
    {
        if (n <= 0 || !BitOperations.IsPow2(n)) throw new ArgumentException($"fft: length {n} is not a positive power of two", nameof(n));
        Length = n;
        int bits = BitOperations.Log2((uint)n);
        _rev = new int[n];
        for (int i = 0; i < n; i++) _rev[i] = bits == 0 ? 0 : (int)(ReverseBits((uint)i) >> (32 - bits));
        // Stage with half-size h uses w_h^j = exp(−iπ j / h), j < h, stored at [h + j].
        _wr = new T[Math.Max(2, n)];
        _wi = new T[Math.Max(2, n)];
        for (int h = 1; h < n; h *= 2)
            for (int j = 0; j < h; j++)
            {
                double a = -Math.PI * j / h;
                _wr[h + j] = T.CreateTruncating(Math.Cos(a));
                _wi[h + j] = T.CreateTruncating(Math.Sin(a));
            }
    }

    private static uint ReverseBits(uint v)
    {
        v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
        v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
        v = ((v >> 4) & 0x0F0F0F0Fu) | ((v & 0x0F0F0F0Fu) << 4);
        v = ((v >> 8) & 0x00FF00FFu) | ((v & 0x00FF00FFu) << 8);
        return (v >> 16) | (v << 16);
    }

    /// <summary>The cached transform of length n.</summary>
    public static Fft<T> Of(int n) => Cache.GetOrAdd(n, static m => new Fft<T>(m));

    /// <summary>Forward DFT <c>X_k = Σ x_j e^{−2πi jk/n}</c> in place.</summary>
    public void Forward(Span<T> re, Span<T> im)
    {
        int n = Length;
        for (int i = 0; i < n; i++)
        {
            int r = _rev[i];
            if (r > i) { (re[i], re[r]) = (re[r], re[i]); (im[i], im[r]) = (im[r], im[i]); }
        }
        for (int s = 0; s + 1 < n; s += 2)
        {
            T ar = re[s], ai = im[s], br = re[s + 1], bi = im[s + 1];
            re[s] = ar + br; im[s] = ai + bi; re[s + 1] = ar - br; im[s + 1] = ai - bi;
        }
        int vw = Vector<T>.Count;
        for (int h = 2; h < n; h *= 2)
        {
            var wr = _wr.AsSpan(h, h);
            var wi = _wi.AsSpan(h, h);
            for (int s = 0; s < n; s += 2 * h)
            {
                var ar = re.Slice(s, h); var ai = im.Slice(s, h);
                var br = re.Slice(s + h, h); var bi = im.Slice(s + h, h);
                int j = 0;
                if (h >= vw)
                {
                    for (; j <= h - vw; j += vw)
                    {
                        var vwr = new Vector<T>(wr[j..]); var vwi = new Vector<T>(wi[j..]);
                        var vbr = new Vector<T>(br[j..]); var vbi = new Vector<T>(bi[j..]);
                        var tr = vwr * vbr - vwi * vbi;
                        var ti = vwr * vbi + vwi * vbr;
                        var var_ = new Vector<T>(ar[j..]); var vai = new Vector<T>(ai[j..]);
                        (var_ - tr).CopyTo(br[j..]); (vai - ti).CopyTo(bi[j..]);
                        (var_ + tr).CopyTo(ar[j..]); (vai + ti).CopyTo(ai[j..]);
                    }
                }
                for (; j < h; j++)
                {
                    T tr = wr[j] * br[j] - wi[j] * bi[j];
                    T ti = wr[j] * bi[j] + wi[j] * br[j];
                    br[j] = ar[j] - tr; bi[j] = ai[j] - ti;
                    ar[j] += tr; ai[j] += ti;
                }
            }
        }
    }

    /// <summary>
    /// Forward DFT along the leading axis of an [n, inner] row-major block: element j of the transform is the
    /// contiguous row j, so every butterfly is a vectorised operation on two rows with a scalar twiddle.
    /// </summary>
    public void ForwardRows(Span<T> re, Span<T> im, int inner)
    {
        int n = Length;
        for (int i = 0; i < n; i++)
        {
            int r = _rev[i];
            if (r <= i) continue;
            SwapRows(re.Slice(i * inner, inner), re.Slice(r * inner, inner));
            SwapRows(im.Slice(i * inner, inner), im.Slice(r * inner, inner));
        }
        for (int h = 1; h < n; h *= 2)
            for (int s = 0; s < n; s += 2 * h)
                for (int j = 0; j < h; j++)
                {
                    int a = (s + j) * inner, b = (s + j + h) * inner;
                    Butterfly(re.Slice(a, inner), im.Slice(a, inner), re.Slice(b, inner), im.Slice(b, inner), _wr[h + j], _wi[h + j]);
                }
    }

    private static void SwapRows(Span<T> a, Span<T> b)
    {
        for (int i = 0; i < a.Length; i++) (a[i], b[i]) = (b[i], a[i]);
    }

    /// <summary>(a, b) ← (a + w·b, a − w·b) elementwise over rows, w = wr + i·wi.</summary>
    private static void Butterfly(Span<T> ar, Span<T> ai, Span<T> br, Span<T> bi, T wr, T wi)
    {
        int m = ar.Length, vw = Vector<T>.Count, e = 0;
        if (m >= vw)
        {
            var vwr = new Vector<T>(wr); var vwi = new Vector<T>(wi);
            for (; e <= m - vw; e += vw)
            {
                var vbr = new Vector<T>(br[e..]); var vbi = new Vector<T>(bi[e..]);
                var tr = vwr * vbr - vwi * vbi;
                var ti = vwr * vbi + vwi * vbr;
                var var_ = new Vector<T>(ar[e..]); var vai = new Vector<T>(ai[e..]);
                (var_ - tr).CopyTo(br[e..]); (vai - ti).CopyTo(bi[e..]);
                (var_ + tr).CopyTo(ar[e..]); (vai + ti).CopyTo(ai[e..]);
            }
        }
        for (; e < m; e++)
        {
            T tr = wr * br[e] - wi * bi[e], ti = wr * bi[e] + wi * br[e];
            br[e] = ar[e] - tr; bi[e] = ai[e] - ti;
            ar[e] += tr; ai[e] += ti;
        }
    }

    /// <summary>Unscaled inverse DFT (<c>e^{+2πi jk/n}</c>) in place: the forward transform with real and imaginary parts swapped.</summary>
    public void Inverse(Span<T> re, Span<T> im) => Forward(im, re);

    /// <summary>
    /// k-dimensional transform of a row-major complex grid of sizes <paramref name="dims"/> (powers of two),
    /// axis by axis. <paramref name="limit"/>[b] bounds the coordinates of axis b that matter for lines along
    /// later-processed axes: forward transforms run from the last axis to the first (input zero outside the
    /// box), inverse transforms from the first to the last (only the box of the output is read).
    /// </summary>
    public static void TransformNd(Span<T> re, Span<T> im, int[] dims, int[] limit, bool inverse)
    {
        int k = dims.Length;
        for (int step = 0; step < k; step++)
        {
            int a = inverse ? step : k - 1 - step;
            int n = dims[a];
            if (n == 1) continue;
            var f = Of(n);
            int inner = 1;
            for (int b = a + 1; b < k; b++) inner *= dims[b];
            // Outer coordinates (axes before a) stay inside the box: in forward order those axes are not yet
            // transformed (zero outside), in inverse order only their box is read afterwards. The axes after a
            // (inner) are always taken in full.
            int outerCount = 1;
            var bound = new int[a];
            for (int b = 0; b < a; b++) { bound[b] = limit[b]; outerCount *= bound[b]; }
            var idx = new int[a];
            for (int o = 0; o < outerCount; o++)
            {
                int rem = o, baseOff = 0, mul = n * inner;
                for (int b = a - 1; b >= 0; b--) { idx[b] = rem % bound[b]; rem /= bound[b]; }
                for (int b = a - 1; b >= 0; b--) { baseOff += idx[b] * mul; mul *= dims[b]; }
                if (inner == 1)
                {
                    if (inverse) f.Inverse(re.Slice(baseOff, n), im.Slice(baseOff, n));
                    else f.Forward(re.Slice(baseOff, n), im.Slice(baseOff, n));
                    continue;
                }
                if (inverse) f.ForwardRows(im.Slice(baseOff, n * inner), re.Slice(baseOff, n * inner), inner);
                else f.ForwardRows(re.Slice(baseOff, n * inner), im.Slice(baseOff, n * inner), inner);
            }
        }
    }
}
