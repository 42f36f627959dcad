using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

/// <summary>A kernel handle; <see cref="Launch"/> queues it on a stream with a packed parameter block.</summary>
internal readonly unsafe struct CudaFunction(IntPtr handle, string name)
{
    /// <summary>Kernel name.</summary>
    public string Name { get; } = name;

    /// <summary>Allows up to <paramref name="bytes"/> of dynamic shared memory per block (the default limit is 48 KiB).</summary>
    public void AllowSharedBytes(int bytes) =>
        Driver.Check(Driver.cuFuncSetAttribute(handle, Driver.FuncAttrMaxDynamicSharedBytes, bytes), "cuFuncSetAttribute(" + Name + ")");

    /// <summary>Queues the kernel (asynchronous: no synchronisation, no allocation).</summary>
    public void Launch(uint gridX, uint gridY, uint gridZ, uint block, uint sharedBytes, IntPtr stream, ref ArgPack args)
    {
        nuint size = (nuint)args.Length;
        void** extra = stackalloc void*[5];
        int r;
        fixed (ArgPack* p = &args)
        {
            extra[0] = (void*)Driver.LaunchParamBufferPointer;
            extra[1] = p->Data;
            extra[2] = (void*)Driver.LaunchParamBufferSize;
            extra[3] = &size;
            extra[4] = (void*)Driver.LaunchParamEnd;
            r = Driver.cuLaunchKernel(handle, gridX, gridY, gridZ, block, 1, 1, sharedBytes, stream, null, extra);
        }
        if (r != 0) Driver.Check(r, "cuLaunchKernel(" + Name + ")");
    }
}
