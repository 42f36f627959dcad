using LightNet.Kernels.Cuda;

namespace LightNet.Tests;

/// <summary>Registers the CUDA backend once; tests call <see cref="Require"/> and are skipped when no GPU is usable.</summary>
internal static class Gpu
{
    private static readonly Lazy<string?> _missing = new(() => CudaBackend.TryRegister() ? null : CudaRuntime.UnavailableReason);
    private static int _told;

    /// <summary>Whether a CUDA device is usable (test sources generate their CUDA cases only then).</summary>
    public static bool Available => _missing.Value == null;

    /// <summary>
    /// The first CUDA device, or Assert.Ignore when CUDA is unavailable: the first test to ask is skipped with the full
    /// diagnostic (which can run to twenty lines), every later one without a message. A skip reason costs four lines
    /// per test in <c>dotnet test</c>'s output (the NUnit adapter sends it as the skip reason and again as standard
    /// output, and the SDK prints both); the ~385 CUDA tests would print 2,300 lines on a machine without a GPU, where
    /// without a message each prints two (its name and its assembly).
    /// </summary>
    public static Device Require()
    {
        if (_missing.Value is { } why)
        {
            if (Interlocked.Exchange(ref _told, 1) == 0) Assert.Ignore("CUDA unavailable, so every CUDA test is skipped (the others without a message): " + why);
            Assert.Ignore();
        }
        return Device.Cuda(0);
    }

    /// <summary>‖a − b‖² / ‖b‖² over all elements (NaN and ±∞ must sit at the same places; 0/0 gives the numerator).</summary>
    public static double NormErr(double[] a, double[] b)
    {
        Assert.That(a, Has.Length.EqualTo(b.Length));
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (double.IsNaN(a[i]) || double.IsNaN(b[i]) || double.IsInfinity(a[i]) || double.IsInfinity(b[i]))
            {
                if (!a[i].Equals(b[i])) return double.PositiveInfinity;
                continue;
            }
            num += (a[i] - b[i]) * (a[i] - b[i]);
            den += b[i] * b[i];
        }
        return den == 0 ? num : num / den;
    }

    /// <summary>Bound on the normalised error for a dtype: 1e-10 for float32 (TF32 off), 1e-24 for float64.</summary>
    public static double Tol(DType t) => t == DType.Float64 ? 1e-24 : 1e-10;

    /// <summary>Asserts that a CUDA result matches the CPU result within <paramref name="tol"/> (normalised squared error).</summary>
    public static void Parity(Tensor gpu, Tensor cpu, double tol, string what)
    {
        Assert.That(gpu.Device.Kind, Is.EqualTo(DeviceKind.Cuda), what + ": result is not on the GPU");
        Assert.That(gpu.Shape, Is.EqualTo(cpu.Shape), what + ": shape");
        Assert.That(gpu.DType, Is.EqualTo(cpu.DType), what + ": dtype");
        var e = NormErr(gpu.ToDoubleArray(), cpu.ToDoubleArray());
        Assert.That(e, Is.LessThanOrEqualTo(tol), $"{what}: normalised error {e:G3} > {tol:G3}");
    }

    /// <summary>A non-contiguous view on the same device with the same values (stored transposed).</summary>
    public static Tensor Strided(Tensor t) => Reference.NonContiguous(t);

    /// <summary>Runs <paramref name="body"/> with TF32 products on or off, then restores the backend's setting.</summary>
    public static void WithTf32(CudaBackend be, bool tf32, Action body)
    {
        bool saved = be.AllowTf32;
        be.AllowTf32 = tf32;
        try { body(); }
        finally { be.AllowTf32 = saved; }
    }

    /// <summary>Runs <paramref name="body"/> with the chunk backward's 128-column dv allowed or not, then restores the backend's setting.</summary>
    public static void WithWideDv(CudaBackend be, bool wide, Action body)
    {
        bool saved = be.AllowWideDv;
        be.AllowWideDv = wide;
        try { body(); }
        finally { be.AllowWideDv = saved; }
    }

    /// <summary>Runs <paramref name="body"/> with cuBLAS on or off (ignored when it is asked for and not installed).</summary>
    public static void WithCublas(CudaBackend be, bool cublas, Action body)
    {
        if (cublas && !be.CublasActive) Assert.Ignore("cuBLAS not installed: " + be.CublasReport);
        bool saved = be.UseCublas;
        be.UseCublas = cublas;
        try { body(); }
        finally { be.UseCublas = saved; }
    }
}
