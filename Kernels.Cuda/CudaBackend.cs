using LightNet.Cpu;
using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

/// <summary>
/// <see cref="IBackend"/> on an NVIDIA GPU: kernels from the embedded PTX, matrix products through cuBLAS
/// when installed (an own tiled kernel otherwise), memory from the caching <see cref="DeviceAllocator"/>.
/// All work is queued on one stream per device; only copies to the host and index checks wait for it.
/// </summary>
public sealed unsafe partial class CudaBackend : IBackend
{
    private const uint Block = 256;
    private readonly CudaDevice _dev;

    private CudaBackend(CudaDevice dev)
    {
        _dev = dev;
        Device = Device.Cuda(dev.Ordinal);
        UseCublas = Environment.GetEnvironmentVariable("LIGHTNET_CUBLAS") != "0";
    }

    /// <summary>
    /// Registers a backend for every CUDA device found. Returns false (and registers nothing) when CUDA
    /// is unavailable; <see cref="CudaRuntime.UnavailableReason"/> says why.
    /// </summary>
    public static bool TryRegister()
    {
        if (!CudaRuntime.IsAvailable) return false;
        for (int i = 0; i < CudaRuntime.DeviceCount; i++)
            if (!Backends.IsAvailable(Device.Cuda(i))) Backends.Register(new CudaBackend(CudaRuntime.Device(i)));
        return true;
    }

    /// <summary>The registered CUDA backend of a device.</summary>
    public static CudaBackend For(int ordinal = 0) =>
        Backends.For(Device.Cuda(ordinal)) as CudaBackend ?? throw new InvalidOperationException($"cuda:{ordinal} is served by another backend");

    /// <inheritdoc/>
    public Device Device { get; }
    /// <summary>This device's caching allocator.</summary>
    public DeviceAllocator Allocator => _dev.Allocator;
    /// <summary>Name, compute capability and size of the device.</summary>
    public CudaDeviceInfo Info => _dev.Info;
    /// <summary>Use cuBLAS for matrix products when it is installed (default; LIGHTNET_CUBLAS=0 turns it off).</summary>
    public bool UseCublas { get; set; }
    /// <summary>Let cuBLAS and the attention kernels use TF32 tensor cores for float32 products (faster, ~1e-3 relative error). Off by default.</summary>
    public bool AllowTf32 { get; set; }
    /// <summary>
    /// Run float32 matrix products on bfloat16 tensor cores through cuBLAS: both operands are rounded to bfloat16
    /// (round to nearest even), accumulation and the result stay float32 (~3e-3 relative error per element). Takes
    /// precedence over <see cref="AllowTf32"/> for matrix products; the attention kernels are unaffected. Off by default.
    /// </summary>
    public bool AllowBf16 { get; set; }
    /// <summary>
    /// Let the chunk attention backward form dv over 128 value columns at a time where two blocks of its wider stages fit a
    /// multiprocessor (float32 and bfloat16 on H100/H200); otherwise, and when off, 64 at a time (A100, sm_86/89). Default on;
    /// tests turn it off to run the 64-column path on a GPU that would take the wide one.
    /// </summary>
    internal bool AllowWideDv { get; set; } = true;
    /// <summary>Stage host→device copies of at least 1 MiB through page-locked buffers (default on; off: one pageable driver copy). Downloads are always direct.</summary>
    public bool UsePinnedStaging { get; set; } = true;
    /// <summary>True when cuBLAS is installed and will be used.</summary>
    public bool CublasActive => UseCublas && _dev.Cublas != IntPtr.Zero;
    /// <summary>Where cuBLAS was looked for.</summary>
    public string CublasReport => _dev.CublasReport;

    /// <summary>Waits until all queued work on this device has finished.</summary>
    public void Synchronize() => _dev.Synchronize();

    private static ulong Addr(Tensor t) => (ulong)(long)t.Storage.Pointer + (ulong)(t.Offset * t.DType.Size());
    private static ulong Addr(Tensor? t, bool _) => t == null ? 0 : Addr(t);
    private IntPtr S => _dev.Stream.Handle;

    /// <summary>The device context and stream (for NCCL, which queues on the backend's stream).</summary>
    internal CudaDevice Context => _dev;

    /// <summary>Blocks for a grid-stride loop over <paramref name="n"/> items.</summary>
    private uint Blocks(long n) => (uint)Math.Clamp((n + Block - 1) / Block, 1, (long)_dev.Info.Multiprocessors * 32);
    /// <summary>Blocks for one-block-per-row kernels.</summary>
    private static uint RowBlocks(long rows) => (uint)Math.Clamp(rows, 1, 1 << 20);

    private static Exception Unsupported(string op, DType t, bool bf16 = false) =>
        new ShapeException($"{op}: dtype {t.Name()} is not supported on cuda for {op} (float32, float64{(bf16 ? " or bfloat16" : "")} expected)");

    /// <summary>
    /// The float32, float64 or bfloat16 kernel name (literals: nothing is allocated on the hot path); an op without a
    /// bfloat16 kernel (<paramref name="bf16"/> null) throws for bfloat16 like any other dtype.
    /// </summary>
    private static string Pick(string op, DType t, string f32, string f64, string? bf16 = null) => t switch
    {
        DType.Float32 => f32,
        DType.Float64 => f64,
        DType.BFloat16 when bf16 != null => bf16,
        _ => throw Unsupported(op, t, bf16 != null),
    };

    /// <summary>As <see cref="Pick(string, DType, string, string, string?)"/>, naming an enum op (with <paramref name="suffix"/>) only when it throws.</summary>
    private static string Pick<TOp>(TOp op, DType t, string f32, string f64, string? bf16, string suffix = "") where TOp : struct, Enum => t switch
    {
        DType.Float32 => f32,
        DType.Float64 => f64,
        DType.BFloat16 when bf16 != null => bf16,
        _ => throw Unsupported(op.ToString().ToLowerInvariant() + suffix, t, bf16 != null),
    };

    private void Run(string module, string kernel, long n, ref ArgPack args)
    {
        if (n <= 0) return;
        _dev.Function(module, kernel).Launch(Blocks(n), 1, 1, Block, 0, S, ref args);
    }

    private void RunRows(string module, string kernel, long rows, ref ArgPack args)
    {
        if (rows <= 0) return;
        _dev.Function(module, kernel).Launch(RowBlocks(rows), 1, 1, Block, 0, S, ref args);
    }

    /// <summary>Queues a kernel whose parameters are all pointers and scalars: a grid-stride launch over <paramref name="work"/> items, or one block per row.</summary>
    private void Launch(string module, string kernel, long work, bool blockPerRow, params ReadOnlySpan<KernelArg> args)
    {
        _dev.MakeCurrent();
        var p = ArgPack.From(args);
        if (blockPerRow) RunRows(module, kernel, work, ref p);
        else Run(module, kernel, work, ref p);
    }

    /// <inheritdoc/>
    public Storage Allocate(long bytes)
    {
        _dev.MakeCurrent();
        return new CudaStorage(_dev, bytes);
    }

    private static void SameBytes(string op, Tensor a, Tensor b)
    {
        if (a.DType != b.DType || a.Numel != b.Numel)
            throw new ShapeException($"{op}: source {a.DType.Name()} {a.Shape} and destination {b.DType.Name()} {b.Shape} differ");
        if (!a.IsContiguous || !b.IsContiguous) throw new ShapeException($"{op}: both tensors must be contiguous ({a.Shape}, {b.Shape})");
    }

    /// <inheritdoc/>
    public void CopyFromHost(Tensor host, Tensor dst)
    {
        SameBytes("copy_from_host", host, dst);
        if (host.Numel == 0) return;
        _dev.MakeCurrent();
        var src = (byte*)host.Storage.Pointer + host.Offset * host.DType.Size();
        long bytes = host.Numel * host.DType.Size();
        if (UsePinnedStaging && bytes >= PinnedStaging.MinBytes) { _dev.Staging.ToDevice(Addr(dst), src, bytes); return; }
        Driver.Check(Driver.cuMemcpyHtoDAsync_v2(Addr(dst), src, (nuint)bytes, S), "cuMemcpyHtoDAsync");
        // Pageable source: the call returns once the bytes are staged, so the host tensor may be freed.
    }

    /// <inheritdoc/>
    public void CopyToHost(Tensor src, Tensor host)
    {
        SameBytes("copy_to_host", src, host);
        if (src.Numel == 0) return;
        _dev.MakeCurrent();
        var dst = (byte*)host.Storage.Pointer + host.Offset * host.DType.Size();
        long bytes = src.Numel * src.DType.Size();
        Driver.Check(Driver.cuMemcpyDtoHAsync_v2(dst, Addr(src), (nuint)bytes, S), "cuMemcpyDtoHAsync");
        _dev.Stream.Synchronize();
    }

    private static string DtypeCode(DType t) => t switch
    {
        DType.Float32 => "f32",
        DType.Float64 => "f64",
        DType.Int32 => "i32",
        DType.Int64 => "i64",
        DType.BFloat16 => "bf16",
        _ => throw new ShapeException($"copy: dtype {t} is not supported on cuda"),
    };

    private static readonly string[,] CopyKernels = BuildCopyNames();

    private static string[,] BuildCopyNames()
    {
        var all = new[] { DType.Float32, DType.Float64, DType.Int32, DType.Int64, DType.BFloat16 };
        var names = new string[all.Length, all.Length];
        foreach (var s in all)
            foreach (var d in all)
                names[(int)s, (int)d] = $"copy_{DtypeCode(s)}_{DtypeCode(d)}";
        return names;
    }

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst)
    {
        if (src.Shape != dst.Shape) throw new ShapeException($"copy: source {src.Shape} and destination {dst.Shape} differ in shape");
        long n = dst.Numel;
        if (n == 0) return;
        _dev.MakeCurrent();
        if (src.DType == dst.DType && src.IsContiguous && dst.IsContiguous)
        {
            Driver.Check(Driver.cuMemcpyDtoDAsync_v2(Addr(dst), Addr(src), (nuint)(n * src.DType.Size()), S), "cuMemcpyDtoDAsync");
            return;
        }
        var d = StridedDims.Build("copy", dst.ShapeArray, src.StrideArray, dst.StrideArray);
        LaunchStrided(CopyKernels[(int)src.DType, (int)dst.DType], d, n, Addr(src), Addr(dst), n);
    }

    /// <inheritdoc/>
    public void Fill(Tensor dst, double value)
    {
        long n = dst.Numel;
        if (n == 0) return;
        if (!dst.IsContiguous) throw new ShapeException($"fill: tensor {dst.Shape} must be contiguous");
        _dev.MakeCurrent();
        switch (dst.DType)
        {
            case DType.Float32:
                Driver.Check(Driver.cuMemsetD32Async(Addr(dst), BitConverter.SingleToUInt32Bits((float)value), (nuint)n, S), "cuMemsetD32Async");
                break;
            case DType.Int32:
                Driver.Check(Driver.cuMemsetD32Async(Addr(dst), (uint)(int)value, (nuint)n, S), "cuMemsetD32Async");
                break;
            case DType.BFloat16:
                Driver.Check(Driver.cuMemsetD16Async(Addr(dst), BFloat16Bits.FromFloat((float)value), (nuint)n, S), "cuMemsetD16Async");
                break;
            case DType.Float64:
            case DType.Int64:
                Launch("random", "fill_b64", n, false, Addr(dst), n, (KernelArg)(dst.DType == DType.Float64 ? BitConverter.DoubleToUInt64Bits(value) : (ulong)(long)value));
                break;
            default: throw new ShapeException($"fill: dtype {dst.DType.Name()} is not supported on cuda");
        }
    }

    /// <inheritdoc/>
    public void Random(Tensor dst, ulong seed, ulong offset, bool normal)
    {
        var sfx = dst.DType switch
        {
            DType.Float32 => "random_f32",
            DType.Float64 => "random_f64",
            _ => throw new ShapeException($"random: dtype must be float32 or float64, got {dst.DType.Name()}"),
        };
        Launch("random", sfx, dst.Numel, false, Addr(dst), dst.Numel, (KernelArg)seed, (KernelArg)offset, normal ? 1L : 0L);
    }
}
