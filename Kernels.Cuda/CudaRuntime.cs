using System.Runtime.InteropServices;
using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

/// <summary>
/// Process-wide CUDA state: whether a driver and a GPU are present (with the reason when not), the
/// driver version and the devices. Nothing here throws when CUDA is missing; it is simply unavailable.
/// </summary>
public static class CudaRuntime
{
    private static readonly Lazy<State> _state = new(Probe, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lock _lock = new();
    private static readonly Dictionary<int, CudaDevice> _devices = new();

    private sealed record State(bool Available, string Reason, int DeviceCount, int DriverVersion);

    /// <summary>True when the driver loaded, initialised and reports at least one device.</summary>
    public static bool IsAvailable => _state.Value.Available;
    /// <summary>Why CUDA is unavailable (empty when it is available).</summary>
    public static string UnavailableReason => _state.Value.Reason;
    /// <summary>Number of CUDA devices (0 when unavailable).</summary>
    public static int DeviceCount => _state.Value.DeviceCount;
    /// <summary>Driver version as reported by cuDriverGetVersion (for example 13000 for CUDA 13.0).</summary>
    public static int DriverVersion => _state.Value.DriverVersion;

    private static State Probe()
    {
        NativeLibraries.EnsureResolver();
        if (NativeLibraries.TryLoad(NativeLibraries.Driver, out var report) == IntPtr.Zero)
            return new State(false, "CUDA driver library " + report, 0, 0);
        try
        {
            int r = Driver.cuInit(0);
            if (r != 0) return new State(false, $"cuInit failed: {Driver.ErrorName(r)} ({r})", 0, 0);
            Driver.Check(Driver.cuDriverGetVersion(out var version), "cuDriverGetVersion");
            Driver.Check(Driver.cuDeviceGetCount(out var count), "cuDeviceGetCount");
            if (count == 0) return new State(false, "the CUDA driver reports no device", 0, version);
            return new State(true, "", count, version);
        }
        catch (Exception e) when (e is CudaException or EntryPointNotFoundException or DllNotFoundException or MarshalDirectiveException)
        {
            return new State(false, $"CUDA driver could not be initialised: {e.Message}", 0, 0);
        }
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> with the reason when CUDA is unavailable.</summary>
    public static void EnsureAvailable()
    {
        if (!IsAvailable) throw new InvalidOperationException("CUDA is not available: " + UnavailableReason);
    }

    /// <summary>The device with the given ordinal (created on first use: primary context, stream, allocator).</summary>
    internal static CudaDevice Device(int ordinal)
    {
        EnsureAvailable();
        if (ordinal < 0 || ordinal >= DeviceCount)
            throw new ArgumentOutOfRangeException(nameof(ordinal), $"cuda:{ordinal} does not exist ({DeviceCount} device(s))");
        lock (_lock)
        {
            if (!_devices.TryGetValue(ordinal, out var d)) _devices[ordinal] = d = new CudaDevice(ordinal);
            return d;
        }
    }

    /// <summary>Name, compute capability, multiprocessors and memory of a device.</summary>
    public static CudaDeviceInfo Info(int ordinal) => Device(ordinal).Info;
}

/// <summary>Static properties of one CUDA device.</summary>
public sealed record CudaDeviceInfo(int Ordinal, string Name, int Major, int Minor, int Multiprocessors, long TotalMemory, int ClockKHz, int MemoryClockKHz, int MemoryBusWidth)
{
    /// <summary>Theoretical DRAM bandwidth in GB/s (double data rate).</summary>
    public double PeakBandwidthGBs => 2.0 * MemoryClockKHz * 1e3 * (MemoryBusWidth / 8.0) / 1e9;

    /// <inheritdoc/>
    public override string ToString() =>
        $"cuda:{Ordinal} {Name} (sm_{Major}{Minor}, {Multiprocessors} SMs, {TotalMemory / (1L << 20)} MiB, {PeakBandwidthGBs:F0} GB/s peak)";
}
