using LightNet.Kernels.Cuda;

namespace LightNet.Cli;

/// <summary>Turns a <c>--device cpu|cuda[:N]</c> value into a usable device, registering the CUDA backend on first use.</summary>
internal static class DeviceOption
{
    /// <summary>The device; throws naming the command and CUDA's reason when a GPU was asked for but none is usable.</summary>
    public static Device Resolve(string command, string? value)
    {
        var device = Device.Parse(value ?? "cpu");
        if (device.Kind != DeviceKind.Cuda) return device;
        if (!CudaBackend.TryRegister()) throw new InvalidOperationException($"{command}: CUDA is unavailable: {CudaRuntime.UnavailableReason}");
        if (device.Index >= CudaRuntime.DeviceCount) throw new InvalidOperationException($"{command}: {device} does not exist ({CudaRuntime.DeviceCount} CUDA device(s))");
        return device;
    }
}
