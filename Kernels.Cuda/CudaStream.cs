using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

/// <summary>A CUDA stream of one device; the backend queues all its work on one stream per device.</summary>
public sealed class CudaStream : IDisposable
{
    private readonly CudaDevice _device;
    private IntPtr _handle;

    internal CudaStream(CudaDevice device)
    {
        _device = device;
        device.MakeCurrent();
        Driver.Check(Driver.cuStreamCreate(out _handle, 0), "cuStreamCreate");
    }

    /// <summary>The CUstream handle.</summary>
    public IntPtr Handle => _handle;

    /// <summary>Blocks until every operation queued on the stream has completed.</summary>
    public void Synchronize()
    {
        _device.MakeCurrent();
        Driver.Check(Driver.cuStreamSynchronize(_handle), "cuStreamSynchronize");
    }

    /// <summary>Destroys the stream.</summary>
    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h == IntPtr.Zero) return;
        _device.MakeCurrent();
        Driver.Check(Driver.cuStreamDestroy_v2(h), "cuStreamDestroy");
    }
}
