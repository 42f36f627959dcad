using LightNet.Kernels.Cuda;

namespace LightNet.Tests;

/// <summary>The host side of the strided CUDA kernels: axes put in the output's memory order, then merged (runs without a GPU).</summary>
[Category("Kernels")]
public class StridedDimsTests
{
    private static unsafe (long Rank, long[] Size, long[][] Strides) Read(StridedDims d, int operands)
    {
        var size = new long[d.Rank];
        var strides = new long[operands][];
        for (int a = 0; a < d.Rank; a++) size[a] = d.Size[a];
        for (int k = 0; k < operands; k++)
        {
            strides[k] = new long[d.Rank];
            for (int a = 0; a < d.Rank; a++) strides[k][a] = d.Stride[k * StridedDims.MaxDims + a];
        }
        return (d.Rank, size, strides);
    }

    [Test]
    public void SharedPermutedLayoutMergesIntoOneAxis()
    {
        // [B, H, T, d] heads of a [B, T, H·d] projection, copied into the same layout (a dtype conversion).
        int[] shape = [2, 3, 5, 4];
        long[] tokensMajor = [5 * 3 * 4, 4, 3 * 4, 1];
        var (rank, size, strides) = Read(StridedDims.Build("copy", shape, tokensMajor, tokensMajor), 2);
        Assert.That(rank, Is.EqualTo(1));
        Assert.That(size[0], Is.EqualTo(2 * 3 * 5 * 4));
        Assert.That(strides[0][0], Is.EqualTo(1));
        Assert.That(strides[1][0], Is.EqualTo(1));
    }

    [Test]
    public void TransposingCopyKeepsTheOutputOrder()
    {
        // Heads-major destination from a tokens-major source: iterate in the destination's order, the source strided.
        int[] shape = [2, 3, 5, 4];
        long[] src = [5 * 3 * 4, 4, 3 * 4, 1], dst = [3 * 5 * 4, 5 * 4, 4, 1];
        var (rank, size, strides) = Read(StridedDims.Build("copy", shape, src, dst), 2);
        Assert.That(rank, Is.EqualTo(4));
        Assert.That(size, Is.EqualTo(new long[] { 2, 3, 5, 4 }));
        Assert.That(strides[1], Is.EqualTo(new long[] { 60, 20, 4, 1 }));
        Assert.That(strides[0], Is.EqualTo(new long[] { 60, 4, 12, 1 }));
    }

    [Test]
    public void BroadcastOperandAndSizeOneAxes()
    {
        // y [4, 1, 6] = a [4, 1, 6] + b [6] (stride 0 along rows): two axes remain, size-1 dropped.
        int[] shape = [4, 1, 6];
        var (rank, size, strides) = Read(StridedDims.Build("add", shape, [6, 6, 1], [0, 0, 1], [6, 6, 1]), 3);
        Assert.That(rank, Is.EqualTo(2));
        Assert.That(size, Is.EqualTo(new long[] { 4, 6 }));
        Assert.That(strides[1], Is.EqualTo(new long[] { 0, 1 }));
    }
}
