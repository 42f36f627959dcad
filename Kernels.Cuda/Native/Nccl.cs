using System.Runtime.InteropServices;

namespace LightNet.Kernels.Cuda.Native;

/// <summary>The NCCL calls of the data-parallel trainer (libnccl.so.2, loaded at run time when present).</summary>
internal static unsafe partial class Nccl
{
    private const string Lib = NativeLibraries.Nccl;

    /// <summary>ncclUniqueId: 128 opaque bytes made by rank 0 and handed to every rank.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct UniqueId
    {
        /// <summary>The id bytes.</summary>
        public fixed byte Internal[128];
    }

    /// <summary>ncclDataType_t values.</summary>
    public enum DataType { Int32 = 2, Int64 = 4, Float32 = 7, Float64 = 8, BFloat16 = 9 }

    /// <summary>ncclRedOp_t values.</summary>
    public enum RedOp { Sum = 0, Max = 2, Min = 3 }

    [LibraryImport(Lib, EntryPoint = "ncclGetVersion")] public static partial int GetVersion(out int version);
    [LibraryImport(Lib, EntryPoint = "ncclGetUniqueId")] public static partial int GetUniqueId(out UniqueId id);
    [LibraryImport(Lib, EntryPoint = "ncclCommInitRank")] public static partial int CommInitRank(out IntPtr comm, int nranks, UniqueId id, int rank);
    [LibraryImport(Lib, EntryPoint = "ncclCommDestroy")] public static partial int CommDestroy(IntPtr comm);
    [LibraryImport(Lib, EntryPoint = "ncclCommCount")] public static partial int CommCount(IntPtr comm, out int count);
    [LibraryImport(Lib, EntryPoint = "ncclCommUserRank")] public static partial int CommUserRank(IntPtr comm, out int rank);
    [LibraryImport(Lib, EntryPoint = "ncclAllReduce")] public static partial int AllReduce(ulong send, ulong recv, nuint count, DataType type, RedOp op, IntPtr comm, IntPtr stream);
    [LibraryImport(Lib, EntryPoint = "ncclBroadcast")] public static partial int Broadcast(ulong send, ulong recv, nuint count, DataType type, int root, IntPtr comm, IntPtr stream);
    [LibraryImport(Lib, EntryPoint = "ncclAllGather")] public static partial int AllGather(ulong send, ulong recv, nuint sendCount, DataType type, IntPtr comm, IntPtr stream);
    [LibraryImport(Lib, EntryPoint = "ncclReduceScatter")] public static partial int ReduceScatter(ulong send, ulong recv, nuint recvCount, DataType type, RedOp op, IntPtr comm, IntPtr stream);
    [LibraryImport(Lib, EntryPoint = "ncclGroupStart")] public static partial int GroupStart();
    [LibraryImport(Lib, EntryPoint = "ncclGroupEnd")] public static partial int GroupEnd();
    [LibraryImport(Lib, EntryPoint = "ncclGetErrorString")] private static partial IntPtr GetErrorString(int result);

    private static readonly string[] ResultNames = ["ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError", "ncclInternalError", "ncclInvalidArgument", "ncclInvalidUsage", "ncclRemoteError", "ncclInProgress"];

    /// <summary>Throws a <see cref="CudaException"/> naming the call, the ncclResult_t and NCCL's own message unless it is ncclSuccess.</summary>
    public static void Check(int result, string call)
    {
        if (result == 0) return;
        string name = result >= 0 && result < ResultNames.Length ? ResultNames[result] : $"ncclResult {result}";
        string? text = null;
        try { text = Marshal.PtrToStringUTF8(GetErrorString(result)); }
        catch (EntryPointNotFoundException) { }
        throw new CudaException(call, result, name, text);
    }
}
