using System.Runtime.InteropServices;

namespace LightNet.Kernels.Cuda;

/// <summary>
/// Shape plus per-operand strides as the strided kernels take them (<c>struct Dims</c> in strided.cu):
/// size-1 axes dropped and axes that are consecutive in every operand merged, at most
/// <see cref="MaxDims"/> axes and 4 operands.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct StridedDims
{
    public const int MaxDims = 8;
    public const int MaxOperands = 4;

    public long Rank;
    public fixed long Size[MaxDims];
    public fixed long Stride[MaxOperands * MaxDims];

    /// <summary>
    /// Collapses <paramref name="shape"/> with the strides of each operand (the last one is the output); throws naming the op
    /// when too many axes remain. The axes are first put in the output's memory order (largest stride first; elementwise
    /// work may visit elements in any order), so operands that share a permuted dense layout (heads split from a projection)
    /// merge into one axis like contiguous ones.
    /// </summary>
    public static StridedDims Build(string op, ReadOnlySpan<int> shape, params ReadOnlySpan<long[]> strides)
    {
        var outStrides = strides[^1];
        Span<int> order = stackalloc int[shape.Length];
        for (int i = 0; i < order.Length; i++)
        {
            // Stable insertion by descending |output stride|.
            int j = i;
            for (; j > 0 && Math.Abs(outStrides[order[j - 1]]) < Math.Abs(outStrides[i]); j--) order[j] = order[j - 1];
            order[j] = i;
        }
        var d = new StridedDims();
        int r = 0;
        foreach (int i in order)
        {
            if (shape[i] == 1) continue;
            if (r > 0)
            {
                bool merge = true;
                for (int k = 0; k < strides.Length; k++)
                    if (d.Stride[k * MaxDims + r - 1] != strides[k][i] * shape[i]) { merge = false; break; }
                if (merge)
                {
                    d.Size[r - 1] *= shape[i];
                    for (int k = 0; k < strides.Length; k++) d.Stride[k * MaxDims + r - 1] = strides[k][i];
                    continue;
                }
            }
            if (r == MaxDims)
                throw new ShapeException($"{op}: shape [{string.Join(", ", shape.ToArray())}] has more than {MaxDims} axes that cannot be merged for the strided CUDA kernels");
            d.Size[r] = shape[i];
            for (int k = 0; k < strides.Length; k++) d.Stride[k * MaxDims + r] = strides[k][i];
            r++;
        }
        d.Rank = r;
        return d;
    }
}
