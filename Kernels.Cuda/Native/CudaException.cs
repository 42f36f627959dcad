namespace LightNet.Kernels.Cuda;

/// <summary>A failed CUDA driver, cuBLAS, NVRTC or NCCL call (names the call and the result code), or a missing kernel PTX.</summary>
public sealed class CudaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CudaException(string call, int code, string codeName, string? detail = null)
        : base($"{call} failed: {codeName} ({code}){(string.IsNullOrEmpty(detail) ? "" : ": " + detail)}")
    {
        Call = call;
        Code = code;
        CodeName = codeName;
    }

    /// <summary>Creates an exception that is not tied to a result code.</summary>
    public CudaException(string message) : base(message) { Call = ""; CodeName = ""; }

    /// <summary>The API call that failed.</summary>
    public string Call { get; }
    /// <summary>Numeric result code.</summary>
    public int Code { get; }
    /// <summary>Symbolic name of the result code (for example CUDA_ERROR_OUT_OF_MEMORY).</summary>
    public string CodeName { get; }
}
