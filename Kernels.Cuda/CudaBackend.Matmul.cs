using System.Runtime.InteropServices;
using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <summary>Kernel parameters of gemm.cu (<c>struct MatDesc</c>).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MatDesc
    {
        public long Batch, M, N, K;
        public long Sa0, Sa1, Sa2, Sb0, Sb1, Sb2, Sc0, Sc1, Sc2;
        public long Accumulate;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// bfloat16 tensors (storage) multiply on bf16 tensor cores with float32 accumulation, the result rounded to bfloat16.
    /// float32 products take TF32 or bf16 tensor cores when <see cref="AllowTf32"/> / <see cref="AllowBf16"/> say so.
    /// Without cuBLAS the own kernels of gemm.cu run: tensor cores for those modes, exact float32 / float64 otherwise.
    /// </remarks>
    public void Matmul(Tensor a, Tensor b, Tensor c, bool accumulate)
    {
        bool stored16 = c.DType == DType.BFloat16;
        if (!stored16) Pick("matmul", c.DType, "", "");
        int batch = c.Size(0), m = c.Size(1), n = c.Size(2), k = a.Size(2);
        if (batch == 0 || m == 0 || n == 0) return;
        _dev.MakeCurrent();
        if (stored16 && k == 0)
        {
            // An empty sum: zeros, or C unchanged when accumulating.
            if (!accumulate)
            {
                using var zero = Tensor.Zeros(c.Shape, c.DType, Device);
                Copy(zero, c);
            }
            return;
        }
        if (k == 0 || !CublasActive) { OwnGemm(a, b, c, accumulate); return; }

        // bfloat16 products of float32 tensors: round both operands once into contiguous bfloat16 copies (a broadcast batch stays one matrix).
        bool bf16 = AllowBf16 && c.DType == DType.Float32;
        using var a16 = bf16 ? ToBf16(a) : null;
        using var b16 = bf16 ? ToBf16(b) : null;
        if (bf16) { a = a16!; b = b16!; }

        // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: cuBLAS computes Cᵀ [n, m] from Bᵀ [n, k] and Aᵀ [k, m].
        using var ac = BlasLayout(a, out var opA, out var lda) ? null : a.Contiguous();
        if (ac != null) BlasLayout(ac, out opA, out lda);
        using var bc = BlasLayout(b, out var opB, out var ldb) ? null : b.Contiguous();
        if (bc != null) BlasLayout(bc, out opB, out ldb);
        var A = ac ?? a;
        var B = bc ?? b;
        bool cOk = BlasLayout(c, out var opC, out var ldc) && opC == Cublas.OpN && (batch == 1 || c.Strides[0] >= (long)m * n);
        using var ct = cOk ? null : Tensor.Empty(c.Shape, c.DType, Device);
        if (ct != null)
        {
            if (accumulate) Copy(c, ct);
            BlasLayout(ct, out _, out ldc);
        }
        var C = ct ?? c;
        var h = _dev.Cublas;
        long sa = batch == 1 || A.Size(0) == 1 ? 0 : A.Strides[0], sb = batch == 1 || B.Size(0) == 1 ? 0 : B.Strides[0], sc = batch == 1 ? 0 : C.Strides[0];
        if (bf16 || stored16)
        {
            float alpha = 1, beta = accumulate ? 1 : 0;
            Cublas.Check(Cublas.GemmStridedBatchedEx(h, opB, opA, n, m, k, &alpha, (void*)Addr(B), Cublas.R16BF, ldb, sb, (void*)Addr(A), Cublas.R16BF, lda, sa,
                &beta, (void*)Addr(C), stored16 ? Cublas.R16BF : Cublas.R32F, ldc, sc, batch, Cublas.Compute32F, Cublas.GemmDefault), "cublasGemmStridedBatchedEx");
        }
        else if (C.DType == DType.Float32)
        {
            _dev.SetCublasTf32(AllowTf32);
            float alpha = 1, beta = accumulate ? 1 : 0;
            Cublas.Check(Cublas.SgemmStridedBatched(h, opB, opA, n, m, k, &alpha, (float*)Addr(B), ldb, sb, (float*)Addr(A), lda, sa,
                &beta, (float*)Addr(C), ldc, sc, batch), "cublasSgemmStridedBatched");
        }
        else
        {
            double alpha = 1, beta = accumulate ? 1 : 0;
            Cublas.Check(Cublas.DgemmStridedBatched(h, opB, opA, n, m, k, &alpha, (double*)Addr(B), ldb, sb, (double*)Addr(A), lda, sa,
                &beta, (double*)Addr(C), ldc, sc, batch), "cublasDgemmStridedBatched");
        }
        if (ct != null) Copy(ct, c);
    }

    /// <summary>A contiguous bfloat16 copy of the [batch, R, C] operand; a batch broadcast with stride 0 is copied as one matrix of batch 1.</summary>
    private static Tensor ToBf16(Tensor x)
    {
        if (x.Size(0) > 1 && x.Strides[0] == 0)
        {
            using var first = x.Narrow(0, 0, 1);
            return first.To(DType.BFloat16);
        }
        return x.To(DType.BFloat16);
    }

    /// <summary>
    /// Describes the matrices X[i] ([batch, R, C], any strides) as column-major Xᵀ for cuBLAS: op N with
    /// ld = row stride when columns are unit-stride, op T with ld = column stride when rows are.
    /// False when neither holds (or strides are negative or too large): the caller copies X first.
    /// </summary>
    private static bool BlasLayout(Tensor x, out int op, out int ld)
    {
        int rows = x.Size(1), cols = x.Size(2);
        long rs = x.Strides[1], cs = x.Strides[2];
        op = Cublas.OpN;
        ld = 1;
        if (x.Size(0) > 1 && x.Strides[0] < 0) return false;
        if (cs == 1 || cols == 1)
        {
            long l = rows == 1 ? Math.Max(cols, 1) : rs;
            if (l >= Math.Max(cols, 1) && l <= int.MaxValue) { ld = (int)l; return true; }
        }
        if (rs == 1 || rows == 1)
        {
            long l = cols == 1 ? Math.Max(rows, 1) : cs;
            if (l >= Math.Max(rows, 1) && l <= int.MaxValue) { op = Cublas.OpT; ld = (int)l; return true; }
        }
        return false;
    }

    /// <summary>
    /// The own kernels (gemm.cu), any strides, used when cuBLAS is absent or disabled: bfloat16 storage and the
    /// <see cref="AllowBf16"/> / <see cref="AllowTf32"/> modes of float32 on tensor cores (128 × 128 tiles, float32
    /// accumulation), other float32 and float64 products exact (64 × 64 tiles).
    /// </summary>
    private void OwnGemm(Tensor a, Tensor b, Tensor c, bool accumulate)
    {
        bool f32 = c.DType == DType.Float32, stored16 = c.DType == DType.BFloat16;
        bool bf16 = stored16 || f32 && AllowBf16, tf32 = f32 && !AllowBf16 && AllowTf32, tc = bf16 || tf32;
        string k = stored16 ? "gemm_tc_bf16" : bf16 ? "gemm_tc_bf16_f32" : tf32 ? "gemm_tc_tf32" : Pick("matmul", c.DType, "gemm_f32", "gemm_f64");
        // gemm.cu's tiles (TM/TN, TCM/TCN) and the tensor-core kernels' two slice buffers (TCK = 16 k, rows padded to 24
        // bfloat16 or 20 TF32 words, A and B).
        uint tile = tc ? 128u : 64u;
        int smem = tf32 ? 2 * 2 * 128 * 20 * 4 : bf16 ? 2 * 2 * 128 * 24 * 2 : 0;
        int batch = c.Size(0);
        var d = new MatDesc
        {
            M = c.Size(1),
            N = c.Size(2),
            K = a.Size(2),
            Sa0 = a.Strides[0],
            Sa1 = a.Strides[1],
            Sa2 = a.Strides[2],
            Sb0 = b.Strides[0],
            Sb1 = b.Strides[1],
            Sb2 = b.Strides[2],
            Sc0 = c.Strides[0],
            Sc1 = c.Strides[1],
            Sc2 = c.Strides[2],
            Accumulate = accumulate ? 1 : 0,
        };
        var f = _dev.Function("gemm", k);
        int es = c.DType.Size();
        for (int z0 = 0; z0 < batch; z0 += 65535)
        {
            int nb = Math.Min(65535, batch - z0);
            d.Batch = nb;
            var p = new ArgPack();
            p.Add(d, 8);
            p.Ptr(Addr(a) + (ulong)(z0 * d.Sa0 * es));
            p.Ptr(Addr(b) + (ulong)(z0 * d.Sb0 * es));
            p.Ptr(Addr(c) + (ulong)(z0 * d.Sc0 * es));
            f.Launch((uint)((d.N + tile - 1) / tile), (uint)((d.M + tile - 1) / tile), (uint)nb, Block, (uint)smem, S, ref p);
        }
    }
}
