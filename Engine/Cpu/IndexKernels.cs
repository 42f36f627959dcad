namespace LightNet.Cpu;

/// <summary>Index-select, index-add, gather and scatter-add on [outer, n, inner] views (raw element copies, any dtype size).</summary>
internal static unsafe class IndexKernels
{
    private static long CheckIndex(string op, long i, int n)
    {
        if (i < 0 || i >= n) throw new ArgumentOutOfRangeException(nameof(i), $"{op}: index {i} is out of range for an axis of size {n}");
        return i;
    }

    public static void IndexSelect(byte* x, long* idx, byte* y, int outer, int n, int m, int inner, int es)
    {
        for (int j = 0; j < m; j++) CheckIndex("index_select", idx[j], n);
        long rowBytes = (long)inner * es;
        nint px = (nint)x, pi = (nint)idx, py = (nint)y;
        Parallelism.ForChunks((long)outer * m, Math.Max(1, 16384 / Math.Max(1, rowBytes)), (s, len) =>
        {
            for (long q = s; q < s + len; q++)
            {
                long o = q / m, j = q % m;
                Buffer.MemoryCopy((byte*)px + ((o * n) + ((long*)pi)[j]) * rowBytes, (byte*)py + q * rowBytes, rowBytes, rowBytes);
            }
        });
    }

    public static void IndexAdd<T>(T* y, long* idx, T* src, int outer, int n, int m, int inner) where T : unmanaged, System.Numerics.INumberBase<T>
    {
        for (int j = 0; j < m; j++) CheckIndex("index_add", idx[j], n);
        nint py = (nint)y, pi = (nint)idx, ps = (nint)src;
        // Parallel over outer and over inner columns only: each output element is owned by one thread
        // and accumulated in index order, so results are deterministic.
        int colChunk = 256;
        int colChunks = (inner + colChunk - 1) / colChunk;
        Parallelism.For(outer * colChunks, w =>
        {
            int o = w / colChunks, c0 = (w % colChunks) * colChunk, c1 = Math.Min(inner, c0 + colChunk);
            for (int j = 0; j < m; j++)
            {
                T* d = (T*)py + ((long)o * n + ((long*)pi)[j]) * inner;
                T* s = (T*)ps + ((long)o * m + j) * inner;
                for (int i = c0; i < c1; i++) d[i] += s[i];
            }
        });
    }

    public static void Gather(byte* x, long* idx, byte* y, int outer, int n, int m, int inner, int es)
    {
        for (long o = 0; o < outer; o++)
            for (long j = 0; j < m; j++)
                for (long i = 0; i < inner; i++)
                {
                    long q = (o * m + j) * inner + i;
                    long k = CheckIndex("gather", idx[q], n);
                    Buffer.MemoryCopy(x + ((o * n + k) * inner + i) * es, y + q * es, es, es);
                }
    }

    public static void ScatterAdd<T>(T* y, long* idx, T* src, int outer, int n, int m, int inner) where T : unmanaged, System.Numerics.INumberBase<T>
    {
        for (long o = 0; o < outer; o++)
            for (long j = 0; j < m; j++)
                for (long i = 0; i < inner; i++)
                {
                    long q = (o * m + j) * inner + i;
                    long k = CheckIndex("scatter_add", idx[q], n);
                    y[(o * n + k) * inner + i] += src[q];
                }
    }
}
