using System.Runtime.InteropServices;
using System.Text;

namespace LightNet.Kernels.Cuda.Native;

/// <summary>NVRTC: compiles CUDA C to PTX at run time (development aid, <c>LIGHTNET_NVRTC=1</c>).</summary>
internal static unsafe partial class Nvrtc
{
    private const string Lib = NativeLibraries.Nvrtc;

    [LibraryImport(Lib, EntryPoint = "nvrtcVersion")] public static partial int Version(out int major, out int minor);
    [LibraryImport(Lib, EntryPoint = "nvrtcGetErrorString")] private static partial IntPtr GetErrorString(int result);
    [LibraryImport(Lib, EntryPoint = "nvrtcCreateProgram")]
    private static partial int CreateProgram(out IntPtr program, byte* source, byte* name, int numHeaders, byte** headers, byte** includeNames);
    [LibraryImport(Lib, EntryPoint = "nvrtcCompileProgram")] private static partial int CompileProgram(IntPtr program, int numOptions, byte** options);
    [LibraryImport(Lib, EntryPoint = "nvrtcGetPTXSize")] private static partial int GetPTXSize(IntPtr program, out nuint size);
    [LibraryImport(Lib, EntryPoint = "nvrtcGetPTX")] private static partial int GetPTX(IntPtr program, byte* ptx);
    [LibraryImport(Lib, EntryPoint = "nvrtcGetProgramLogSize")] private static partial int GetProgramLogSize(IntPtr program, out nuint size);
    [LibraryImport(Lib, EntryPoint = "nvrtcGetProgramLog")] private static partial int GetProgramLog(IntPtr program, byte* log);
    [LibraryImport(Lib, EntryPoint = "nvrtcDestroyProgram")] private static partial int DestroyProgram(ref IntPtr program);

    /// <summary>True when the NVRTC library can be loaded.</summary>
    public static bool IsAvailable(out string report) => NativeLibraries.TryLoad(NativeLibraries.Nvrtc, out report) != IntPtr.Zero;

    private static void Check(int r, string call)
    {
        if (r == 0) return;
        throw new CudaException(call, r, Marshal.PtrToStringUTF8(GetErrorString(r)) ?? $"nvrtcResult {r}");
    }

    private static byte[] Z(string s) => Encoding.UTF8.GetBytes(s + "\0");

    /// <summary>
    /// Compiles one translation unit to PTX for <c>compute_{arch}</c>, with the headers it includes given by name and text;
    /// a failure carries the compiler log.
    /// </summary>
    public static byte[] CompileToPtx(string source, string name, int arch, IReadOnlyList<(string Name, string Text)> headers)
    {
        var src = Z(source);
        var nm = Z(name);
        // Unannotated entities (the generic lambdas inside gated.cu's kernels) are device code, as nvcc treats them there; NVRTC's
        // JIT mode otherwise takes them for host functions and refuses them.
        var opts = new[] { Z($"--gpu-architecture=compute_{arch}"), Z("--std=c++17"), Z("--device-as-default-execution-space") };
        var texts = headers.Select(h => GCHandle.Alloc(Z(h.Text), GCHandleType.Pinned)).ToArray();
        var names = headers.Select(h => GCHandle.Alloc(Z(h.Name), GCHandleType.Pinned)).ToArray();
        IntPtr prog;
        try
        {
            byte** ph = stackalloc byte*[Math.Max(1, texts.Length)];
            byte** pi = stackalloc byte*[Math.Max(1, names.Length)];
            for (int i = 0; i < texts.Length; i++) { ph[i] = (byte*)texts[i].AddrOfPinnedObject(); pi[i] = (byte*)names[i].AddrOfPinnedObject(); }
            fixed (byte* ps = src, pn = nm) Check(CreateProgram(out prog, ps, pn, texts.Length, ph, pi), "nvrtcCreateProgram");
        }
        finally
        {
            foreach (var h in texts.Concat(names)) h.Free();
        }
        try
        {
            int r;
            var pinned = opts.Select(o => GCHandle.Alloc(o, GCHandleType.Pinned)).ToArray();
            try
            {
                byte** po = stackalloc byte*[pinned.Length];
                for (int i = 0; i < pinned.Length; i++) po[i] = (byte*)pinned[i].AddrOfPinnedObject();
                r = CompileProgram(prog, pinned.Length, po);
            }
            finally
            {
                foreach (var h in pinned) h.Free();
            }
            if (r != 0)
            {
                Check(GetProgramLogSize(prog, out var logSize), "nvrtcGetProgramLogSize");
                var log = new byte[(int)logSize];
                fixed (byte* pl = log) Check(GetProgramLog(prog, pl), "nvrtcGetProgramLog");
                throw new CudaException("nvrtcCompileProgram", r, Marshal.PtrToStringUTF8(GetErrorString(r)) ?? $"nvrtcResult {r}",
                    $"{name} (compute_{arch}):\n{Encoding.UTF8.GetString(log).TrimEnd('\0')}");
            }
            Check(GetPTXSize(prog, out var size), "nvrtcGetPTXSize");
            var ptx = new byte[(int)size];
            fixed (byte* pp = ptx) Check(GetPTX(prog, pp), "nvrtcGetPTX");
            return ptx;
        }
        finally
        {
            DestroyProgram(ref prog);
        }
    }
}
