namespace LightNet;

/// <summary>Kind of device a tensor lives on.</summary>
public enum DeviceKind
{
    /// <summary>Host memory, CPU kernels.</summary>
    Cpu,
    /// <summary>NVIDIA GPU through the CUDA driver API.</summary>
    Cuda,
}

/// <summary>A device: kind plus ordinal.</summary>
public readonly record struct Device(DeviceKind Kind, int Index = 0)
{
    /// <summary>The host CPU.</summary>
    public static Device Cpu { get; } = new(DeviceKind.Cpu);

    /// <summary>CUDA device with the given ordinal.</summary>
    public static Device Cuda(int index = 0) => new(DeviceKind.Cuda, index);

    /// <summary>Parses "cpu", "cuda" or "cuda:1".</summary>
    public static Device Parse(string s)
    {
        var t = s.Trim().ToLowerInvariant();
        if (t == "cpu") return Cpu;
        if (t == "cuda" || t == "gpu") return Cuda();
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), out var i) && i >= 0) return Cuda(i);
        throw new ArgumentException($"unknown device '{s}' (expected cpu, cuda or cuda:N)", nameof(s));
    }

    /// <inheritdoc/>
    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"cuda:{Index}";
}
