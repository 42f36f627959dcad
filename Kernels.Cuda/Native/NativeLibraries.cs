using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace LightNet.Kernels.Cuda.Native;

/// <summary>
/// Finds the NVIDIA libraries this assembly binds (driver, cuBLAS, NVRTC, NCCL). Search order:
/// <c>LIGHTNET_CUDA_LIB_DIR</c> (a path list), <c>$CUDA_PATH/lib64</c> (<c>bin</c> on Windows),
/// <c>/usr/local/cuda/lib64</c>, then the system loader's default search. Every place tried is recorded so a
/// missing library can be reported precisely.
/// </summary>
internal static class NativeLibraries
{
    /// <summary>Import name of the CUDA driver API.</summary>
    public const string Driver = "lightnet-cuda-driver";
    /// <summary>Import name of cuBLAS.</summary>
    public const string Cublas = "lightnet-cublas";
    /// <summary>Import name of NVRTC.</summary>
    public const string Nvrtc = "lightnet-nvrtc";
    /// <summary>Import name of NCCL.</summary>
    public const string Nccl = "lightnet-nccl";

    private static readonly Lock _lock = new();
    private static readonly Dictionary<string, (IntPtr Handle, string Report)> _loaded = new();

    static NativeLibraries() => NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);

    /// <summary>Installs the import resolver (idempotent; the static constructor does the work).</summary>
    public static void EnsureResolver() { }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name is Driver or Cublas or Nvrtc or Nccl ? TryLoad(name, out _) : IntPtr.Zero;

    private static string[] FileNames(string import)
    {
        bool win = OperatingSystem.IsWindows();
        return import switch
        {
            Driver => win ? ["nvcuda.dll"] : ["libcuda.so.1", "libcuda.so"],
            Cublas => win ? ["cublas64_13.dll", "cublas64_12.dll", "cublas64_11.dll"] : ["libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11"],
            Nvrtc => win ? ["nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"] : ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"],
            Nccl => win ? ["nccl.dll"] : ["libnccl.so.2", "libnccl.so"],
            _ => throw new ArgumentOutOfRangeException(nameof(import), import, "unknown native library"),
        };
    }

    /// <summary>Directories searched before the loader default, in order.</summary>
    public static List<string> SearchDirectories()
    {
        var dirs = new List<string>();
        var env = Environment.GetEnvironmentVariable("LIGHTNET_CUDA_LIB_DIR");
        if (!string.IsNullOrWhiteSpace(env)) dirs.AddRange(env.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var cudaPath = Environment.GetEnvironmentVariable("CUDA_PATH");
        if (!string.IsNullOrWhiteSpace(cudaPath)) dirs.Add(Path.Combine(cudaPath, OperatingSystem.IsWindows() ? "bin" : "lib64"));
        if (!OperatingSystem.IsWindows()) dirs.Add("/usr/local/cuda/lib64");
        return dirs;
    }

    /// <summary>Loads companion libraries (cuBLAS needs cuBLASLt) from the same folder so the loader finds them by name.</summary>
    private static void PreloadSiblings(string dir, string pattern)
    {
        if (OperatingSystem.IsWindows()) return;
        foreach (var f in Directory.EnumerateFiles(dir, pattern).Order(StringComparer.Ordinal))
            NativeLibrary.TryLoad(f, out _);
    }

    /// <summary>Loads a library by import name (cached); returns zero and a report of every place tried when absent.</summary>
    public static IntPtr TryLoad(string import, out string report)
    {
        lock (_lock)
        {
            if (_loaded.TryGetValue(import, out var done)) { report = done.Report; return done.Handle; }
            var sb = new StringBuilder();
            IntPtr h = IntPtr.Zero;
            foreach (var dir in SearchDirectories())
            {
                foreach (var file in FileNames(import))
                {
                    var full = Path.Combine(dir, file);
                    if (!File.Exists(full)) { sb.Append($"\n  {full}: not found"); continue; }
                    if (import == Cublas) PreloadSiblings(dir, "libcublasLt.so*");
                    try { h = NativeLibrary.Load(full); sb.Append($"\n  {full}: loaded"); break; }
                    catch (Exception e) when (e is DllNotFoundException or BadImageFormatException) { sb.Append($"\n  {full}: {e.Message}"); }
                }
                if (h != IntPtr.Zero) break;
            }
            if (h == IntPtr.Zero)
            {
                foreach (var file in FileNames(import))
                {
                    try { h = NativeLibrary.Load(file); sb.Append($"\n  {file} (system loader default search): loaded"); break; }
                    catch (Exception e) when (e is DllNotFoundException or BadImageFormatException) { sb.Append($"\n  {file} (system loader default search): {e.Message}"); }
                }
            }
            report = (h == IntPtr.Zero ? $"{string.Join(" / ", FileNames(import))} not found; tried:" : "found; tried:") + sb;
            _loaded[import] = (h, report);
            return h;
        }
    }
}
