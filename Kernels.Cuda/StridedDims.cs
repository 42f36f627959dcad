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

    /// <summary>Collapses <paramref name="shape"/> with the strides of each operand; throws naming the op when too many axes remain.</summary>
    public static StridedDims Build(string op, ReadOnlySpan<int> shape, params ReadOnlySpan<long[]> strides)
    {
        var d = new StridedDims();
        int r = 0;
        for (int i = 0; i < shape.Length; i++)
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
