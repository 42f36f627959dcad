using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LightNet.Cpu;

/// <summary>
/// Blocked matrix product <c>C (+)= A·B</c> for float32/float64 with packing and an FMA register-tile
/// micro-kernel (BLIS loop order: NC → KC → MC → NR → MR). Operands may have any strides, so
/// transposed views cost nothing. The AVX-512 path uses a 12×(2 vectors) tile, the 256-bit path a
/// 6×(2 vectors) tile. Each C element is produced by one thread in a fixed k order, so results do not
/// depend on the thread count.
/// </summary>
internal static unsafe class Gemm
{
    /// <summary>
    /// Depth of one packed block: 384 for the 6×16 AVX2 tile (its 24 KB B micro-panel stays in a 32–48 KB L1), 512 for the
    /// 12×32 AVX-512 tile. The A block stays L2-sized through <see cref="McPanels"/>; docs/perf.md has the measurements.
    /// </summary>
    private static int KC => Wide ? 512 : 384;
    /// <summary>Row panels of A per packed block for float32 (mc = mr · this): 16 with AVX2, 8 with AVX-512.</summary>
    private static int McPanels => Wide ? 8 : 16;
    private const int NC = 3072;

    /// <summary>Strided matrix operand: element (i, j) at <c>P + i·Rs + j·Cs</c>.</summary>
    public readonly record struct Mat<T>(nint P, long Rs, long Cs) where T : unmanaged
    {
        public T* At(long i, long j) => (T*)P + i * Rs + j * Cs;
    }

    private static bool Wide => Vector512.IsHardwareAccelerated;

    /// <summary>Single-threaded <c>C (+)= A·B</c> on raw strided pointers (C row-major with row stride rsC), for kernels that already run one worker per sequence.</summary>
    public static void Serial<T>(T* a, long rsA, long csA, T* b, long rsB, long csB, T* c, long rsC, int m, int n, int k, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Run(new Mat<T>((nint)a, rsA, csA), new Mat<T>((nint)b, rsB, csB), new Mat<T>((nint)c, rsC, 1), m, n, k, accumulate, parallel: false);

    public static void Run<T>(Mat<T> a, Mat<T> b, Mat<T> c, int m, int n, int k, bool accumulate, bool parallel)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) *c.At(i, j) = T.Zero;
            return;
        }
        if ((long)m * n * k <= 4096) { Naive(a, b, c, m, n, k, accumulate); return; }
        if (!parallel && b.Cs == 1 && c.Cs == 1 && n % (2 * Vector256<T>.Count) == 0 && (long)m * n * k <= SmallLimit)
        {
            Small(a, b, c, m, n, k, accumulate);
            return;
        }
        int lanes = Wide ? Vector512<T>.Count : Vector256<T>.Count;
        int mr = Wide ? 12 : 6, nr = 2 * lanes;
        int mc = mr * (typeof(T) == typeof(float) ? McPanels : 8);
        int ncMax = Math.Min(NC, RoundUp(n, nr));
        int kcMax = Math.Min(KC, k);
        // The B panel belongs to the calling thread (shared read-only with the workers it fans out to).
        T* bPack = (T*)PackBuffer.Get(0, (long)kcMax * ncMax * sizeof(T));
        {
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                int nPanels = (nc + nr - 1) / nr;
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    bool acc = accumulate || pc > 0;
                    nint bp = (nint)bPack;
                    if (parallel) Parallelism.For(nPanels, jp => PackB(b, pc, kc, jc + jp * nr, Math.Min(nr, nc - jp * nr), nr, (T*)bp + (long)jp * kc * nr));
                    else for (int jp = 0; jp < nPanels; jp++) PackB(b, pc, kc, jc + jp * nr, Math.Min(nr, nc - jp * nr), nr, bPack + (long)jp * kc * nr);

                    // Row blocks of at most mc rows, as many as a multiple of the threads when there are enough panels for
                    // it (1024 rows: 12 blocks of 7–8 panels, not 10 of 8 and one of 5.3). With a block per thread or
                    // more, each work item is a whole row block (A packed once); otherwise the columns are split too.
                    int threads = parallel ? Parallelism.Threads : 1, mPanels = (m + mr - 1) / mr;
                    int iBlocks = (mPanels + mc / mr - 1) / (mc / mr);
                    if (iBlocks >= threads) iBlocks = Math.Min(mPanels, (iBlocks + threads - 1) / threads * threads);
                    int panelsPerGroup = iBlocks >= threads ? nPanels : Math.Max(1, Math.Min(nPanels, 8));
                    int jGroups = (nPanels + panelsPerGroup - 1) / panelsPerGroup;
                    void Work(int w)
                    {
                        int ib = w / jGroups, jg = w % jGroups;
                        int ic = (int)((long)mPanels * ib / iBlocks) * mr, mcur = Math.Min((int)((long)mPanels * (ib + 1) / iBlocks) * mr, m) - ic;
                        T* aPack = (T*)PackBuffer.Get(1, (long)RoundUp(mcur, mr) * kc * sizeof(T));
                        {
                            PackA(a, ic, mcur, pc, kc, mr, aPack);
                            int p0 = jg * panelsPerGroup, p1 = Math.Min(nPanels, p0 + panelsPerGroup);
                            for (int jp = p0; jp < p1; jp++)
                            {
                                int j0 = jc + jp * nr, ncur = Math.Min(nr, nc - jp * nr);
                                T* bpp = (T*)bp + (long)jp * kc * nr;
                                for (int ir = 0; ir < mcur; ir += mr)
                                {
                                    int mcurr = Math.Min(mr, mcur - ir);
                                    Tile(kc, aPack + (long)ir * kc, bpp, c.At(ic + ir, j0), c.Rs, c.Cs, mcurr, ncur, acc, mr, nr);
                                }
                            }
                        }

                    }
                    int items = iBlocks * jGroups;
                    if (parallel) Parallelism.For(items, Work);
                    else for (int w = 0; w < items; w++) Work(w);
                }
            }
        }

    }

    /// <summary>Per-thread packing buffers (slot 0: B panel of the calling thread, slot 1: A block of a worker), grown on demand and reused.</summary>
    private static class PackBuffer
    {
        [ThreadStatic] private static nint[]? _ptr;
        [ThreadStatic] private static long[]? _size;

        public static void* Get(int slot, long bytes)
        {
            _ptr ??= new nint[2];
            _size ??= new long[2];
            if (_size[slot] < bytes)
            {
                if (_ptr[slot] != 0) NativeMemory.AlignedFree((void*)_ptr[slot]);
                _ptr[slot] = (nint)NativeMemory.AlignedAlloc((nuint)bytes, 64);
                _size[slot] = bytes;
            }
            return (void*)_ptr[slot];
        }
    }

    private static int RoundUp(int x, int m) => (x + m - 1) / m * m;

    /// <summary>Largest m·n·k served by <see cref="Small{T}"/>: there packing would cost as much as the product.</summary>
    private const long SmallLimit = 1 << 19;

    /// <summary>
    /// Unpacked product for small operands with a row-major B (rows of B are loaded straight into vectors,
    /// A is broadcast element by element with any strides): 6×(2 vectors) register tiles, single row tail; the chunk products
    /// of the attention kernels (64×64×64) land here. 512-bit vectors where the columns are a multiple of 32 floats.
    /// </summary>
    private static void Small<T>(Mat<T> a, Mat<T> b, Mat<T> c, int m, int n, int k, bool acc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Wide && n % (2 * Vector512<T>.Count) == 0) Small<Simd512<T>, Vector512<T>, T>(a, b, c, m, n, k, acc);
        else Small<Simd256<T>, Vector256<T>, T>(a, b, c, m, n, k, acc);
    }

    /// <summary>The vector operations of <see cref="Small{TOps, TV, T}"/>, so that one body serves both widths (the JIT specialises it per struct).</summary>
    private interface ISimd<TV, T> where TV : struct where T : unmanaged
    {
        static abstract int Lanes { get; }
        static abstract TV Load(T* p);
        static abstract TV Splat(T x);
        static abstract TV Fma(TV a, TV b, TV c);
        static abstract void Store(T* p, TV v, bool acc);
    }

    private readonly struct Simd256<T> : ISimd<Vector256<T>, T> where T : unmanaged
    {
        public static int Lanes => Vector256<T>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(T* p) => Vector256.Load(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Splat(T x) => Vector256.Create(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Fma(Vector256<T> a, Vector256<T> b, Vector256<T> c) => Gemm.Fma(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T* p, Vector256<T> v, bool acc) => Gemm.Store(p, v, acc);
    }

    private readonly struct Simd512<T> : ISimd<Vector512<T>, T> where T : unmanaged
    {
        public static int Lanes => Vector512<T>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(T* p) => Vector512.Load(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Splat(T x) => Vector512.Create(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Fma(Vector512<T> a, Vector512<T> b, Vector512<T> c) => Gemm.Fma(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T* p, Vector512<T> v, bool acc) => Gemm.Store(p, v, acc);
    }

    private static void Small<TOps, TV, T>(Mat<T> a, Mat<T> b, Mat<T> c, int m, int n, int k, bool acc)
        where TOps : struct, ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = TOps.Lanes;
        for (int j0 = 0; j0 < n; j0 += 2 * w)
        {
            int i0 = 0;
            for (; i0 + 6 <= m; i0 += 6)
            {
                TV c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                    c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
                T* a0 = a.At(i0, 0);
                long ars = a.Rs, acs = a.Cs;
                for (int p = 0; p < k; p++)
                {
                    T* bp = b.At(p, j0);
                    var b0 = TOps.Load(bp);
                    var b1 = TOps.Load(bp + w);
                    T* ap = a0 + p * acs;
                    TV x;
                    x = TOps.Splat(ap[0]); c00 = TOps.Fma(x, b0, c00); c01 = TOps.Fma(x, b1, c01);
                    x = TOps.Splat(ap[ars]); c10 = TOps.Fma(x, b0, c10); c11 = TOps.Fma(x, b1, c11);
                    x = TOps.Splat(ap[2 * ars]); c20 = TOps.Fma(x, b0, c20); c21 = TOps.Fma(x, b1, c21);
                    x = TOps.Splat(ap[3 * ars]); c30 = TOps.Fma(x, b0, c30); c31 = TOps.Fma(x, b1, c31);
                    x = TOps.Splat(ap[4 * ars]); c40 = TOps.Fma(x, b0, c40); c41 = TOps.Fma(x, b1, c41);
                    x = TOps.Splat(ap[5 * ars]); c50 = TOps.Fma(x, b0, c50); c51 = TOps.Fma(x, b1, c51);
                }
                T* cp = c.At(i0, j0);
                long ldc = c.Rs;
                TOps.Store(cp, c00, acc); TOps.Store(cp + w, c01, acc); cp += ldc;
                TOps.Store(cp, c10, acc); TOps.Store(cp + w, c11, acc); cp += ldc;
                TOps.Store(cp, c20, acc); TOps.Store(cp + w, c21, acc); cp += ldc;
                TOps.Store(cp, c30, acc); TOps.Store(cp + w, c31, acc); cp += ldc;
                TOps.Store(cp, c40, acc); TOps.Store(cp + w, c41, acc); cp += ldc;
                TOps.Store(cp, c50, acc); TOps.Store(cp + w, c51, acc);
            }
            for (; i0 < m; i0++)
            {
                TV c0 = default, c1 = default;
                for (int p = 0; p < k; p++)
                {
                    T* bp = b.At(p, j0);
                    var x = TOps.Splat(*a.At(i0, p));
                    c0 = TOps.Fma(x, TOps.Load(bp), c0);
                    c1 = TOps.Fma(x, TOps.Load(bp + w), c1);
                }
                T* cp = c.At(i0, j0);
                TOps.Store(cp, c0, acc); TOps.Store(cp + w, c1, acc);
            }
        }
    }

    private static void Naive<T>(Mat<T> a, Mat<T> b, Mat<T> c, int m, int n, int k, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                T s = accumulate ? *c.At(i, j) : T.Zero;
                for (int p = 0; p < k; p++) s += *a.At(i, p) * *b.At(p, j);
                *c.At(i, j) = s;
            }
    }

    /// <summary>Packs rows [i0, i0+mc) × k [p0, p0+kc) of A into MR-row panels, k-major, zero-padded.</summary>
    private static void PackA<T>(Mat<T> a, int i0, int mc, int p0, int kc, int mr, T* dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            T* panel = dst + (long)ir * kc;
            if (a.Rs == 1)
            {
                // Column-major A (a transposed view): each k step copies `rows` consecutive elements (a fixed-size block
                // copy for the full panels of either tile, so that the JIT unrolls it into vector moves).
                for (int p = 0; p < kc; p++)
                {
                    T* src = a.At(i0 + ir, p0 + p);
                    T* d = panel + p * mr;
                    if (rows == 12) Unsafe.CopyBlockUnaligned(d, src, 12 * (uint)sizeof(T));
                    else if (rows == 6) Unsafe.CopyBlockUnaligned(d, src, 6 * (uint)sizeof(T));
                    else
                    {
                        for (int r = 0; r < rows; r++) d[r] = src[r];
                        for (int r = rows; r < mr; r++) d[r] = T.Zero;
                    }
                }
                continue;
            }
            if (typeof(T) == typeof(float) && a.Cs == 1 && rows == mr && mr % 4 == 0 && Sse.IsSupported)
            {
                PackRowsTransposed((float*)a.At(i0 + ir, p0), a.Rs, kc, mr, (float*)panel);
                continue;
            }
            for (int r = 0; r < rows; r++)
            {
                T* src = a.At(i0 + ir + r, p0);
                long cs = a.Cs;
                if (cs == 1) for (int p = 0; p < kc; p++) panel[p * mr + r] = src[p];
                else for (int p = 0; p < kc; p++) panel[p * mr + r] = src[p * cs];
            }
            for (int r = rows; r < mr; r++)
                for (int p = 0; p < kc; p++) panel[p * mr + r] = T.Zero;
        }
    }

    /// <summary>
    /// Packs <paramref name="mr"/> (a multiple of 4) row-major rows of <paramref name="kc"/> floats, row stride <paramref name="rs"/>,
    /// k-major: <c>dst[p·mr + r] = src[r·rs + p]</c>, four rows by four k at a time through 4×4 register transposes.
    /// </summary>
    private static void PackRowsTransposed(float* src, long rs, int kc, int mr, float* dst)
    {
        int p = 0;
        for (; p + 4 <= kc; p += 4)
            for (int g = 0; g < mr; g += 4)
            {
                float* s0 = src + g * rs + p;
                var r0 = Sse.LoadVector128(s0);
                var r1 = Sse.LoadVector128(s0 + rs);
                var r2 = Sse.LoadVector128(s0 + 2 * rs);
                var r3 = Sse.LoadVector128(s0 + 3 * rs);
                var t0 = Sse.UnpackLow(r0, r1);
                var t1 = Sse.UnpackLow(r2, r3);
                var t2 = Sse.UnpackHigh(r0, r1);
                var t3 = Sse.UnpackHigh(r2, r3);
                float* d = dst + p * mr + g;
                Sse.Store(d, Sse.MoveLowToHigh(t0, t1));
                Sse.Store(d + mr, Sse.MoveHighToLow(t1, t0));
                Sse.Store(d + 2 * mr, Sse.MoveLowToHigh(t2, t3));
                Sse.Store(d + 3 * mr, Sse.MoveHighToLow(t3, t2));
            }
        for (; p < kc; p++)
            for (int r = 0; r < mr; r++) dst[p * mr + r] = src[r * rs + p];
    }

    /// <summary>Packs k [p0, p0+kc) × columns [j0, j0+cols) of B into one NR-wide panel, zero-padded.</summary>
    private static void PackB<T>(Mat<T> b, int p0, int kc, int j0, int cols, int nr, T* dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (b.Cs == 1 && cols == nr)
        {
            for (int p = 0; p < kc; p++)
                Unsafe.CopyBlockUnaligned(dst + (long)p * nr, b.At(p0 + p, j0), (uint)(nr * sizeof(T)));
            return;
        }
        if (typeof(T) == typeof(float) && b.Rs == 1 && cols == nr && Sse.IsSupported)
        {
            // Column-major B (a transposed view, e.g. a weight in x·Wᵀ): its columns are rows of k, transposed 4×4 at a time.
            PackRowsTransposed((float*)b.At(p0, j0), b.Cs, kc, nr, (float*)dst);
            return;
        }
        if (b.Rs == 1)
        {
            // Column-major B (a transposed view): walk each column along k (contiguous reads).
            for (int j = 0; j < cols; j++)
            {
                T* src = b.At(p0, j0 + j);
                for (int p = 0; p < kc; p++) dst[(long)p * nr + j] = src[p];
            }
        }
        else
        {
            for (int p = 0; p < kc; p++)
            {
                T* d = dst + (long)p * nr;
                for (int j = 0; j < cols; j++) d[j] = *b.At(p0 + p, j0 + j);
            }
        }
        for (int p = 0; p < kc; p++)
            for (int j = cols; j < nr; j++) dst[(long)p * nr + j] = T.Zero;
    }

    private static void Tile<T>(int kc, T* ap, T* bp, T* c, long rsc, long csc, int mcur, int ncur, bool acc, int mr, int nr)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (mcur == mr && ncur == nr && csc == 1)
        {
            // The tile's C rows (a large stride apart, so rarely cached) are fetched while the k loop runs.
            if (Sse.IsSupported)
                for (int i = 0; i < mr; i++) { Sse.Prefetch0(c + i * rsc); Sse.Prefetch0((byte*)(c + i * rsc) + 64); }
            if (Wide) Kernel512(kc, ap, bp, c, rsc, acc);
            else Kernel256(kc, ap, bp, c, rsc, acc);
            return;
        }
        T* tile = stackalloc T[12 * 32];
        if (Wide) Kernel512(kc, ap, bp, tile, nr, false);
        else Kernel256(kc, ap, bp, tile, nr, false);
        for (int i = 0; i < mcur; i++)
            for (int j = 0; j < ncur; j++)
            {
                T* d = c + i * rsc + j * csc;
                *d = acc ? *d + tile[i * nr + j] : tile[i * nr + j];
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* c, Vector512<T> v, bool acc) where T : unmanaged
    {
        if (acc) v += Vector512.Load(c);
        v.Store(c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* c, Vector256<T> v, bool acc) where T : unmanaged
    {
        if (acc) v += Vector256.Load(c);
        v.Store(c);
    }

    /// <summary>12 × (2 · 512-bit) register tile: 24 accumulators, 2 B loads and 12 broadcasts per k.</summary>
    private static void Kernel512<T>(int kc, T* a, T* b, T* c, long ldc, bool acc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default,
            c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + w);
            Vector512<T> x;
            x = Vector512.Create(a[0]); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Fma(x, b0, c60); c61 = Fma(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Fma(x, b0, c70); c71 = Fma(x, b1, c71);
            x = Vector512.Create(a[8]); c80 = Fma(x, b0, c80); c81 = Fma(x, b1, c81);
            x = Vector512.Create(a[9]); c90 = Fma(x, b0, c90); c91 = Fma(x, b1, c91);
            x = Vector512.Create(a[10]); ca0 = Fma(x, b0, ca0); ca1 = Fma(x, b1, ca1);
            x = Vector512.Create(a[11]); cb0 = Fma(x, b0, cb0); cb1 = Fma(x, b1, cb1);
            a += 12;
            b += 2 * w;
        }
        Store(c, c00, acc); Store(c + w, c01, acc); c += ldc;
        Store(c, c10, acc); Store(c + w, c11, acc); c += ldc;
        Store(c, c20, acc); Store(c + w, c21, acc); c += ldc;
        Store(c, c30, acc); Store(c + w, c31, acc); c += ldc;
        Store(c, c40, acc); Store(c + w, c41, acc); c += ldc;
        Store(c, c50, acc); Store(c + w, c51, acc); c += ldc;
        Store(c, c60, acc); Store(c + w, c61, acc); c += ldc;
        Store(c, c70, acc); Store(c + w, c71, acc); c += ldc;
        Store(c, c80, acc); Store(c + w, c81, acc); c += ldc;
        Store(c, c90, acc); Store(c + w, c91, acc); c += ldc;
        Store(c, ca0, acc); Store(c + w, ca1, acc); c += ldc;
        Store(c, cb0, acc); Store(c + w, cb1, acc);
    }

    /// <summary>6 × (2 · 256-bit) register tile for machines without AVX-512.</summary>
    private static void Kernel256<T>(int kc, T* a, T* b, T* c, long ldc, bool acc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + w);
            Vector256<T> x;
            x = Vector256.Create(a[0]); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            a += 6;
            b += 2 * w;
        }
        Store(c, c00, acc); Store(c + w, c01, acc); c += ldc;
        Store(c, c10, acc); Store(c + w, c11, acc); c += ldc;
        Store(c, c20, acc); Store(c + w, c21, acc); c += ldc;
        Store(c, c30, acc); Store(c + w, c31, acc); c += ldc;
        Store(c, c40, acc); Store(c + w, c41, acc); c += ldc;
        Store(c, c50, acc); Store(c + w, c51, acc);
    }
}
