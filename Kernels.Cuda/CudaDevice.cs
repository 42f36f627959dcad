using System.Text;
using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

/// <summary>
/// One GPU as used by this backend: its primary context (made current per thread on demand), the
/// stream all work is queued on, the caching allocator, the loaded kernel modules and a cuBLAS handle.
/// </summary>
internal sealed unsafe class CudaDevice
{
    [ThreadStatic] private static IntPtr _currentContext;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, CudaModule> _modules = new();
    private readonly Dictionary<(string Module, string Name), CudaFunction> _functions = new();
    private ulong _flag;
    private IntPtr _cublas;
    private bool _cublasProbed;
    private string _cublasReport = "";

    public CudaDevice(int ordinal)
    {
        Ordinal = ordinal;
        Driver.Check(Driver.cuDeviceGet(out var dev, ordinal), "cuDeviceGet");
        Handle = dev;
        Driver.Check(Driver.cuDevicePrimaryCtxRetain(out var ctx, dev), "cuDevicePrimaryCtxRetain");
        Context = ctx;
        MakeCurrent();
        Info = ReadInfo();
        Stream = new CudaStream(this);
        Allocator = new DeviceAllocator(this);
        Staging = new PinnedStaging(this);
    }

    public int Ordinal { get; }
    public int Handle { get; }
    public IntPtr Context { get; }
    public CudaDeviceInfo Info { get; }
    public CudaStream Stream { get; }
    public DeviceAllocator Allocator { get; }
    /// <summary>Page-locked buffers for large host↔device copies.</summary>
    public PinnedStaging Staging { get; }

    /// <summary>Makes this device's primary context current on the calling thread (a no-op when it already is).</summary>
    public void MakeCurrent()
    {
        if (_currentContext == Context) return;
        Driver.Check(Driver.cuCtxSetCurrent(Context), "cuCtxSetCurrent");
        _currentContext = Context;
    }

    private int Attr(int a)
    {
        Driver.Check(Driver.cuDeviceGetAttribute(out var v, a, Handle), "cuDeviceGetAttribute");
        return v;
    }

    private CudaDeviceInfo ReadInfo()
    {
        byte* name = stackalloc byte[256];
        Driver.Check(Driver.cuDeviceGetName(name, 256, Handle), "cuDeviceGetName");
        Driver.Check(Driver.cuDeviceTotalMem_v2(out var total, Handle), "cuDeviceTotalMem");
        return new CudaDeviceInfo(Ordinal, new string((sbyte*)name), Attr(Driver.AttrComputeCapabilityMajor), Attr(Driver.AttrComputeCapabilityMinor),
            Attr(Driver.AttrMultiprocessorCount), (long)total, Attr(Driver.AttrClockRate), Attr(Driver.AttrMemoryClockRate), Attr(Driver.AttrGlobalMemoryBusWidth));
    }

    /// <summary>Compute capability as one number (90 for sm_90).</summary>
    public int Arch => Info.Major * 10 + Info.Minor;

    /// <summary>Most dynamic shared memory one block may opt in to, in bytes (227 KiB on H100/H200, 163 KiB on A100, 99 KiB on sm_86/sm_89).</summary>
    public int MaxSharedBytesPerBlock => _maxShared ??= Attr(Driver.AttrMaxSharedMemoryPerBlockOptin);
    private int? _maxShared;

    /// <summary>Shared memory of one multiprocessor, in bytes (228 KiB on H100/H200, 164 KiB on A100, 100 KiB on sm_86/sm_89).</summary>
    public int MaxSharedBytesPerMultiprocessor => _maxSharedSm ??= Attr(Driver.AttrMaxSharedMemoryPerMultiprocessor);
    private int? _maxSharedSm;

    /// <summary>A kernel of a module (the module's PTX is loaded on first use).</summary>
    public CudaFunction Function(string module, string name)
    {
        lock (_lock)
        {
            if (_functions.TryGetValue((module, name), out var f)) return f;
            MakeCurrent();
            if (!_modules.TryGetValue(module, out var m))
                _modules[module] = m = CudaModule.Load(KernelSources.PtxFor(module, Arch), module);
            f = m.Function(name);
            _functions[(module, name)] = f;
            return f;
        }
    }

    /// <summary>Blocks until all queued work on the stream has finished.</summary>
    public void Synchronize() => Stream.Synchronize();

    /// <summary>8 bytes of device memory used by kernels to report a bad index (all ones = nothing to report).</summary>
    public ulong ErrorFlag
    {
        get
        {
            lock (_lock)
            {
                if (_flag == 0) { MakeCurrent(); Driver.Check(Driver.cuMemAlloc_v2(out _flag, 8), "cuMemAlloc (error flag)"); }
                return _flag;
            }
        }
    }

    /// <summary>Sets the error flag to "nothing to report".</summary>
    public void ResetErrorFlag() => Driver.Check(Driver.cuMemsetD8Async(ErrorFlag, 0xFF, 8, Stream.Handle), "cuMemsetD8Async");

    /// <summary>Waits for the stream and returns the flag (ulong.MaxValue when no kernel reported a problem).</summary>
    public ulong ReadErrorFlag()
    {
        ulong v;
        Driver.Check(Driver.cuMemcpyDtoHAsync_v2(&v, ErrorFlag, 8, Stream.Handle), "cuMemcpyDtoHAsync");
        Stream.Synchronize();
        return v;
    }

    /// <summary>Reads one int64 from device memory (waits for the stream).</summary>
    public long ReadInt64(ulong address)
    {
        long v;
        Driver.Check(Driver.cuMemcpyDtoHAsync_v2(&v, address, 8, Stream.Handle), "cuMemcpyDtoHAsync");
        Stream.Synchronize();
        return v;
    }

    /// <summary>The cuBLAS handle bound to this device's stream, or zero when cuBLAS is not installed (see <see cref="CublasReport"/>).</summary>
    public IntPtr Cublas
    {
        get
        {
            lock (_lock)
            {
                if (_cublasProbed) return _cublas;
                _cublasProbed = true;
                if (NativeLibraries.TryLoad(NativeLibraries.Cublas, out _cublasReport) == IntPtr.Zero) return IntPtr.Zero;
                MakeCurrent();
                Native.Cublas.Check(Native.Cublas.Create(out var h), "cublasCreate");
                Native.Cublas.Check(Native.Cublas.SetStream(h, Stream.Handle), "cublasSetStream");
                Native.Cublas.Check(Native.Cublas.SetMathMode(h, Native.Cublas.DefaultMath), "cublasSetMathMode");
                _cublas = h;
                return h;
            }
        }
    }

    private bool _tf32;

    /// <summary>Switches cuBLAS between plain float32 and TF32 tensor-core math (only when it changes).</summary>
    public void SetCublasTf32(bool on)
    {
        if (on == _tf32) return;
        Native.Cublas.Check(Native.Cublas.SetMathMode(Cublas, on ? Native.Cublas.Tf32TensorOpMath : Native.Cublas.DefaultMath), "cublasSetMathMode");
        _tf32 = on;
    }

    /// <summary>Where cuBLAS was looked for and whether it loaded.</summary>
    public string CublasReport { get { _ = Cublas; return _cublasReport; } }

    /// <inheritdoc/>
    public override string ToString() => new StringBuilder().Append(Info).ToString();
}
