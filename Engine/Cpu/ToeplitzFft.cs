using System.Numerics;

namespace LightNet.Cpu;

/// <summary>
/// FFT MD-TPE kernels (same contract as <see cref="ToeplitzDirect"/>). Each axis is zero-padded to
/// M_a = pow2 ≥ 2n_a − 1 so the circular convolution equals the linear one; the kernel goes in circular
/// layout (Δ at Δ mod M). Real-to-complex by pairing: channels 2q and 2q+1 travel as the real and imaginary
/// parts of one complex transform and are separated with the Hermitian symmetry <c>X(−ω) = conj X(ω)</c>.
/// Work is parallel over channel pairs, with O(M) scratch per worker.
/// </summary>
internal static unsafe class ToeplitzFft
{
    /// <summary>Tables of the padded grid.</summary>
    private sealed class Layout
    {
        public Layout(ToeplitzPlan plan)
        {
            Dims = plan.FftSizes();
            int k = Dims.Length;
            var ms = ToeplitzGeometry.Strides(Dims);
            Total = 1;
            foreach (var m in Dims) Total *= m;
            GridPos = new int[plan.Tokens];
            for (int p = 0; p < plan.Tokens; p++)
            {
                int rem = p;
                for (int a = k - 1; a >= 0; a--) { GridPos[p] += rem % plan.Grid[a] * ms[a]; rem /= plan.Grid[a]; }
            }
            CircPos = new int[plan.Offsets];
            for (int f = 0; f < plan.Offsets; f++)
            {
                int rem = f;
                for (int a = k - 1; a >= 0; a--)
                {
                    int d = rem % plan.KernelGrid[a] - (plan.Grid[a] - 1);
                    rem /= plan.KernelGrid[a];
                    CircPos[f] += (d < 0 ? d + Dims[a] : d) * ms[a];
                }
            }
            Neg = new int[Total];
            for (int i = 0; i < Total; i++)
            {
                int rem = i, j = 0;
                for (int a = k - 1; a >= 0; a--) { int q = rem % Dims[a]; rem /= Dims[a]; j += (q == 0 ? 0 : Dims[a] - q) * ms[a]; }
                Neg[i] = j;
            }
            Limit = plan.Grid;
            Full = Dims;
        }

        public int[] Dims { get; }
        public int Total { get; }
        /// <summary>Padded-grid position of grid token p.</summary>
        public int[] GridPos { get; }
        /// <summary>Padded-grid position of kernel entry f (Δ mod M).</summary>
        public int[] CircPos { get; }
        /// <summary>Index of −ω for each ω.</summary>
        public int[] Neg { get; }
        public int[] Limit { get; }
        public int[] Full { get; }
    }

    /// <summary>Complex scratch of one worker.</summary>
    private sealed class Buf<T>(int n)
    {
        public readonly T[] Re = new T[n], Im = new T[n];
        public void Clear() { Array.Clear(Re); Array.Clear(Im); }
    }

    private static void Fwd<T>(Buf<T> z, Layout lay, int[] limit) where T : unmanaged, IFloatingPointIeee754<T> =>
        Fft<T>.TransformNd(z.Re, z.Im, lay.Dims, limit, inverse: false);

    private static void Inv<T>(Buf<T> z, Layout lay, int[] limit) where T : unmanaged, IFloatingPointIeee754<T> =>
        Fft<T>.TransformNd(z.Re, z.Im, lay.Dims, limit, inverse: true);

    /// <summary>Loads channels (ca, cb) of the grid rows into a zeroed padded buffer (cb = −1: zero imaginary part).</summary>
    private static void LoadGrid<T>(Buf<T> z, T* rows, int c, int ca, int cb, Layout lay) where T : unmanaged, IFloatingPointIeee754<T>
    {
        z.Clear();
        var gp = lay.GridPos;
        for (int p = 0; p < gp.Length; p++)
        {
            z.Re[gp[p]] = rows[(long)p * c + ca];
            if (cb >= 0) z.Im[gp[p]] = rows[(long)p * c + cb];
        }
    }

    /// <summary>Writes the (scaled) real / imaginary parts at grid positions into channels (ca, cb), adding the residual rows when given.</summary>
    private static void StoreGrid<T>(Buf<T> z, T scale, T* dst, T* residual, int c, int ca, int cb, Layout lay) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var gp = lay.GridPos;
        for (int p = 0; p < gp.Length; p++)
        {
            long i = (long)p * c;
            dst[i + ca] = z.Re[gp[p]] * scale + (residual != null ? residual[i + ca] : T.Zero);
            if (cb >= 0) dst[i + cb] = z.Im[gp[p]] * scale + (residual != null ? residual[i + cb] : T.Zero);
        }
    }

    /// <summary>Spectrum of the kernel channels (ca, cb) in circular layout, masked entries left at zero.</summary>
    private static void KernelSpectrum<T>(Buf<T> z, T* kern, int c, int ca, int cb, ToeplitzGeometry g, Layout lay) where T : unmanaged, IFloatingPointIeee754<T>
    {
        z.Clear();
        var cp = lay.CircPos;
        for (int f = 0; f < cp.Length; f++)
        {
            if (g.Masked(f)) continue;
            z.Re[cp[f]] = kern[(long)f * c + ca];
            if (cb >= 0) z.Im[cp[f]] = kern[(long)f * c + cb];
        }
        Fwd(z, lay, lay.Full);
    }

    /// <summary>
    /// For the packed spectra U = FFT(u_a + i u_b) and V = FFT(v_a + i v_b), writes
    /// W = op(U_a)·V_a + i·op(U_b)·V_b where op is identity or conjugation, and the separated spectra are
    /// U_a(ω) = (U(ω) + conj U(−ω))/2, U_b(ω) = (U(ω) − conj U(−ω))/(2i). With <paramref name="accumulate"/>
    /// the result (V conjugated instead) is added to w.
    /// </summary>
    private static void Combine<T>(Buf<T> u, Buf<T> v, Buf<T> w, int[] neg, bool conjU, bool conjV, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T half = T.CreateTruncating(0.5);
        for (int i = 0; i < neg.Length; i++)
        {
            int j = neg[i];
            T uar = (u.Re[i] + u.Re[j]) * half, uai = (u.Im[i] - u.Im[j]) * half;
            T ubr = (u.Im[i] + u.Im[j]) * half, ubi = (u.Re[j] - u.Re[i]) * half;
            T var_ = (v.Re[i] + v.Re[j]) * half, vai = (v.Im[i] - v.Im[j]) * half;
            T vbr = (v.Im[i] + v.Im[j]) * half, vbi = (v.Re[j] - v.Re[i]) * half;
            if (conjU) { uai = -uai; ubi = -ubi; }
            if (conjV) { vai = -vai; vbi = -vbi; }
            T ar = uar * var_ - uai * vai, ai = uar * vai + uai * var_;
            T br = ubr * vbr - ubi * vbi, bi = ubr * vbi + ubi * vbr;
            // W = A + i·B
            T wr = ar - bi, wi = ai + br;
            if (accumulate) { w.Re[i] += wr; w.Im[i] += wi; }
            else { w.Re[i] = wr; w.Im[i] = wi; }
        }
    }

    /// <summary>Forward: extra rows copied, grid rows = (residual ? X : 0) + Toeplitz(X).</summary>
    public static void Forward<T>(T* x, T* kern, T* y, int batch, int c, ToeplitzPlan plan) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = new ToeplitzGeometry(plan);
        var lay = new Layout(plan);
        int l = plan.NExtra, s = l + plan.Tokens;
        ToeplitzDirect.CopyExtra(x, y, batch, s, l, c);
        nint px = (nint)x, pk = (nint)kern, py = (nint)y;
        T scale = T.One / T.CreateTruncating(lay.Total);
        bool residual = plan.Residual;
        Parallelism.For((c + 1) / 2, q =>
        {
            int ca = 2 * q, cb = ca + 1 < c ? ca + 1 : -1;
            Buf<T> kt = new(lay.Total), z = new(lay.Total), w = new(lay.Total);
            KernelSpectrum(kt, (T*)pk, c, ca, cb, g, lay);
            for (int b = 0; b < batch; b++)
            {
                T* xb = (T*)px + ((long)b * s + l) * c;
                LoadGrid(z, xb, c, ca, cb, lay);
                Fwd(z, lay, lay.Limit);
                Combine(kt, z, w, lay.Neg, conjU: false, conjV: false, accumulate: false);
                Inv(w, lay, lay.Limit);
                StoreGrid(w, scale, (T*)py + ((long)b * s + l) * c, residual ? xb : null, c, ca, cb, lay);
            }
        });
    }

    /// <summary>Backward: dx (when non-null) by correlation with the kernel, dkernel (when non-null) by cross-correlation of dY with X.</summary>
    public static void Backward<T>(T* x, T* kern, T* dy, T* dx, T* dkern, int batch, int c, ToeplitzPlan plan) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = new ToeplitzGeometry(plan);
        var lay = new Layout(plan);
        int l = plan.NExtra, s = l + plan.Tokens;
        if (dx != null) ToeplitzDirect.CopyExtra(dy, dx, batch, s, l, c);
        nint px = (nint)x, pk = (nint)kern, pg = (nint)dy, pdx = (nint)dx, pdk = (nint)dkern;
        T scale = T.One / T.CreateTruncating(lay.Total);
        bool residual = plan.Residual;
        Parallelism.For((c + 1) / 2, q =>
        {
            int ca = 2 * q, cb = ca + 1 < c ? ca + 1 : -1;
            Buf<T> zd = new(lay.Total), w = new(lay.Total);
            Buf<T>? kt = null, zx = null, acc = null;
            if (pdx != 0) { kt = new(lay.Total); KernelSpectrum(kt, (T*)pk, c, ca, cb, g, lay); }
            if (pdk != 0) { zx = new(lay.Total); acc = new(lay.Total); }
            for (int b = 0; b < batch; b++)
            {
                T* gb = (T*)pg + ((long)b * s + l) * c;
                LoadGrid(zd, gb, c, ca, cb, lay);
                Fwd(zd, lay, lay.Limit);
                if (kt != null)
                {
                    Combine(kt, zd, w, lay.Neg, conjU: true, conjV: false, accumulate: false);
                    Inv(w, lay, lay.Limit);
                    StoreGrid(w, scale, (T*)pdx + ((long)b * s + l) * c, residual ? gb : null, c, ca, cb, lay);
                }
                if (zx != null)
                {
                    LoadGrid(zx, (T*)px + ((long)b * s + l) * c, c, ca, cb, lay);
                    Fwd(zx, lay, lay.Limit);
                    Combine(zx, zd, acc!, lay.Neg, conjU: true, conjV: false, accumulate: true);
                }
            }
            if (acc != null)
            {
                Inv(acc, lay, lay.Full);
                var cp = lay.CircPos;
                T* dk = (T*)pdk;
                for (int f = 0; f < cp.Length; f++)
                {
                    bool m = g.Masked(f);
                    dk[(long)f * c + ca] = m ? T.Zero : acc.Re[cp[f]] * scale;
                    if (cb >= 0) dk[(long)f * c + cb] = m ? T.Zero : acc.Im[cp[f]] * scale;
                }
            }
        });
    }
}
