using System.Text;
using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

/// <summary>A PTX module loaded (JIT-compiled by the driver) into the current context.</summary>
internal sealed unsafe class CudaModule
{
    private const int LogBytes = 1 << 14;
    private readonly IntPtr _handle;

    private CudaModule(IntPtr handle, string name) { _handle = handle; Name = name; }

    /// <summary>Source name (the .cu file without extension).</summary>
    public string Name { get; }

    /// <summary>Loads NUL-terminated PTX; a JIT failure carries the driver's error log.</summary>
    public static CudaModule Load(byte[] ptx, string name)
    {
        var errLog = new byte[LogBytes];
        var infoLog = new byte[LogBytes];
        int* opts = stackalloc int[4] { Driver.JitErrorLogBuffer, Driver.JitErrorLogBufferSizeBytes, Driver.JitInfoLogBuffer, Driver.JitInfoLogBufferSizeBytes };
        void** vals = stackalloc void*[4];
        int r;
        IntPtr module;
        fixed (byte* pe = errLog, pi = infoLog, pp = ptx)
        {
            vals[0] = pe; vals[1] = (void*)LogBytes; vals[2] = pi; vals[3] = (void*)LogBytes;
            r = Driver.cuModuleLoadDataEx(out module, pp, 4, opts, vals);
        }
        if (r != 0)
        {
            string log = Encoding.UTF8.GetString(errLog).TrimEnd('\0');
            throw new CudaException("cuModuleLoadDataEx", r, Driver.ErrorName(r), $"module '{name}': JIT error log: {(log.Length == 0 ? "(empty)" : log)}");
        }
        return new CudaModule(module, name);
    }

    /// <summary>Looks up a kernel by its (extern "C") name.</summary>
    public CudaFunction Function(string kernel)
    {
        var n = Encoding.UTF8.GetBytes(kernel + "\0");
        int r;
        IntPtr f;
        fixed (byte* pn = n) r = Driver.cuModuleGetFunction(out f, _handle, pn);
        if (r != 0) throw new CudaException("cuModuleGetFunction", r, Driver.ErrorName(r), $"kernel '{kernel}' in module '{Name}'");
        return new CudaFunction(f, kernel);
    }
}
