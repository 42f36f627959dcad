using System.Runtime.InteropServices;

namespace LightNet.Kernels.Cuda.Native;

/// <summary>The cuBLAS calls used for matrix products (loaded at run time when present).</summary>
internal static unsafe partial class Cublas
{
    private const string Lib = NativeLibraries.Cublas;

    public const int OpN = 0;
    public const int OpT = 1;
    public const int DefaultMath = 0;
    public const int Tf32TensorOpMath = 3;

    [LibraryImport(Lib, EntryPoint = "cublasCreate_v2")] public static partial int Create(out IntPtr handle);
    [LibraryImport(Lib, EntryPoint = "cublasDestroy_v2")] public static partial int Destroy(IntPtr handle);
    [LibraryImport(Lib, EntryPoint = "cublasSetStream_v2")] public static partial int SetStream(IntPtr handle, IntPtr stream);
    [LibraryImport(Lib, EntryPoint = "cublasSetMathMode")] public static partial int SetMathMode(IntPtr handle, int mode);
    [LibraryImport(Lib, EntryPoint = "cublasGetVersion_v2")] public static partial int GetVersion(IntPtr handle, out int version);
    [LibraryImport(Lib, EntryPoint = "cublasGetStatusName")] private static partial IntPtr GetStatusName(int status);

    [LibraryImport(Lib, EntryPoint = "cublasSgemmStridedBatched")]
    public static partial int SgemmStridedBatched(IntPtr handle, int transa, int transb, int m, int n, int k, float* alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float* beta, float* c, int ldc, long strideC, int batchCount);

    [LibraryImport(Lib, EntryPoint = "cublasDgemmStridedBatched")]
    public static partial int DgemmStridedBatched(IntPtr handle, int transa, int transb, int m, int n, int k, double* alpha,
        double* a, int lda, long strideA, double* b, int ldb, long strideB, double* beta, double* c, int ldc, long strideC, int batchCount);

    /// <summary>cudaDataType_t values.</summary>
    public const int R32F = 0, R16BF = 14;
    /// <summary>CUBLAS_COMPUTE_32F: float32 accumulation.</summary>
    public const int Compute32F = 68;
    /// <summary>CUBLAS_GEMM_DEFAULT.</summary>
    public const int GemmDefault = -1;

    [LibraryImport(Lib, EntryPoint = "cublasGemmStridedBatchedEx")]
    public static partial int GemmStridedBatchedEx(IntPtr handle, int transa, int transb, int m, int n, int k, void* alpha,
        void* a, int atype, int lda, long strideA, void* b, int btype, int ldb, long strideB, void* beta, void* c, int ctype, int ldc,
        long strideC, int batchCount, int computeType, int algo);

    /// <summary>Throws a <see cref="CudaException"/> naming the call and the cuBLAS status unless it is CUBLAS_STATUS_SUCCESS.</summary>
    public static void Check(int status, string call)
    {
        if (status == 0) return;
        string name;
        try { name = Marshal.PtrToStringUTF8(GetStatusName(status)) ?? $"cublasStatus {status}"; }
        catch (EntryPointNotFoundException) { name = $"cublasStatus {status}"; }
        throw new CudaException(call, status, name);
    }
}
