using LightNet.Kernels.Cuda;

namespace LightNet.Tests;

/// <summary>CPU-side checks of the embedded kernels: every source has PTX built from exactly that source.</summary>
[Category("Kernels")]
public class CudaPtxTests
{
    [Test]
    public void EveryKernelSourceHasPtxBuiltFromIt()
    {
        Assert.That(KernelSources.Names, Is.Not.Empty, "no kernel sources are embedded");
        foreach (var name in KernelSources.Names)
        {
            var ptx = KernelSources.EmbeddedPtx(name);
            Assert.That(ptx, Is.Not.Null, $"kernels/{name}.cu has no ptx/{name}.ptx: run 'build.ps1 ptx' (or scripts/gpu-bundle.sh) on a machine with nvcc");
            Assert.That(KernelSources.RecordedHash(ptx!), Is.EqualTo(KernelSources.SourceHash(name)),
                $"ptx/{name}.ptx was built from a different kernels/{name}.cu (or headers it includes): regenerate it with nvcc");
            Assert.That(ptx, Does.Contain(".target sm_80"), $"ptx/{name}.ptx must target compute_80");
        }
    }

    [Test]
    public void SourceHashCoversTheIncludedHeaders()
    {
        var inc = KernelSources.Includes("gated");
        Assert.That(inc.Select(h => h.Name), Is.EqualTo(new[] { "common.cuh", "tensor_core.cuh", "chunk_tiles.cuh", "chunk_staging.cuh" }),
            "in the order of the #include lines");
        Assert.That(inc[0].Text, Does.Contain("struct Rows"));
        Assert.That(inc[1].Text, Does.Contain("mma_tf32"));
        Assert.That(inc[3].Text, Does.Contain("void pipe("));
        Assert.That(KernelSources.SourceHash("gated"), Is.EqualTo(KernelSources.Sha256(KernelSources.Source("gated") + string.Concat(inc.Select(h => h.Text)))));
        Assert.That(KernelSources.SourceHash("gated"), Is.Not.EqualTo(KernelSources.Sha256(KernelSources.Source("gated") + inc[0].Text + inc[1].Text + inc[2].Text)),
            "the last header counts too");
        Assert.That(KernelSources.Includes("random"), Is.Empty, "random.cu includes nothing: its hash is the file's");
        Assert.That(KernelSources.SourceHash("random"), Is.EqualTo(KernelSources.Sha256(KernelSources.Source("random"))));
    }

    [Test]
    public void LibrarySearchListsEveryPlaceTried()
    {
        var dirs = Kernels.Cuda.Native.NativeLibraries.SearchDirectories();
        if (!OperatingSystem.IsWindows()) Assert.That(dirs, Does.Contain("/usr/local/cuda/lib64"));
        Kernels.Cuda.Native.NativeLibraries.TryLoad(Kernels.Cuda.Native.NativeLibraries.Cublas, out var report);
        Assert.That(report, Does.Contain("tried:"));
        if (!OperatingSystem.IsWindows()) Assert.That(report, Does.Contain("/usr/local/cuda/lib64"));
    }
}
