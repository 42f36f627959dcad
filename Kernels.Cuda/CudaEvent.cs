using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

/// <summary>A CUDA event recorded on a device's stream, for GPU-side timing.</summary>
public sealed class CudaEvent : IDisposable
{
    private readonly CudaDevice _device;
    private IntPtr _handle;

    /// <summary>Creates an event on device <paramref name="ordinal"/>.</summary>
    public CudaEvent(int ordinal = 0)
    {
        _device = CudaRuntime.Device(ordinal);
        _device.MakeCurrent();
        Driver.Check(Driver.cuEventCreate(out _handle, 0), "cuEventCreate");
    }

    /// <summary>Records the event on the device's work stream.</summary>
    public void Record()
    {
        _device.MakeCurrent();
        Driver.Check(Driver.cuEventRecord(_handle, _device.Stream.Handle), "cuEventRecord");
    }

    /// <summary>Waits until the event has completed.</summary>
    public void Synchronize() => Driver.Check(Driver.cuEventSynchronize(_handle), "cuEventSynchronize");

    /// <summary>Milliseconds between <paramref name="start"/> and <paramref name="end"/> (waits for <paramref name="end"/>).</summary>
    public static float ElapsedMilliseconds(CudaEvent start, CudaEvent end)
    {
        end.Synchronize();
        Driver.Check(Driver.cuEventElapsedTime(out var ms, start._handle, end._handle), "cuEventElapsedTime");
        return ms;
    }

    /// <summary>Destroys the event.</summary>
    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h == IntPtr.Zero) return;
        _device.MakeCurrent();
        Driver.Check(Driver.cuEventDestroy_v2(h), "cuEventDestroy");
    }
}
