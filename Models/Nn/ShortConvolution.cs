using LightNet.Autograd;

namespace LightNet.Models.Nn;

/// <summary>
/// fla's <c>ShortConvolution</c> as its LightNetAttention uses it (no bias, no activation): a causal depthwise
/// convolution over time, <c>y[b, t, c] = Σ_{j&lt;K} w[c, 0, j] · x[b, t − (K − 1) + j, c]</c> with zeros before the
/// first token. The weight is a <c>nn.Conv1d</c> weight <c>[C, 1, K]</c> named <c>weight</c>, initialised N(0, std²)
/// like fla's <c>_init_weights</c>. Built from differentiable shifts, so it runs (and trains) on every backend.
/// </summary>
public sealed class ShortConvolution : Module
{
    /// <summary>Creates the convolution over <paramref name="channels"/> channels with <paramref name="kernelSize"/> taps.</summary>
    public ShortConvolution(int channels, int kernelSize, Generator gen, double std = 0.02, DType dtype = DType.Float32)
    {
        if (channels <= 0 || kernelSize <= 0) throw new ArgumentOutOfRangeException(nameof(kernelSize), $"short_conv: channels {channels} and kernel size {kernelSize} must be positive");
        KernelSize = kernelSize;
        Weight = Parameter("weight", Init.Normal([channels, 1, kernelSize], std, gen, dtype));
    }

    /// <summary>Number of taps K (fla's <c>conv_size</c>).</summary>
    public int KernelSize { get; }
    /// <summary>Depthwise kernel [C, 1, K]; tap K − 1 multiplies the current token.</summary>
    public Variable Weight { get; }

    /// <summary>y [B, T, C] for x [B, T, C]; an optional padding mask [B, T] (1 = token) zeroes pads first, so a left-padded row sees zeros before its first token, as fla's unpadded varlen path does.</summary>
    public Variable Forward(Variable x, Tensor? mask = null) => Apply(x, Weight, mask);

    /// <summary>The convolution with an explicit weight [C, 1, K] (for gradient checks).</summary>
    public static Variable Apply(Variable x, Variable weight, Tensor? mask = null)
    {
        if (x.Rank != 3) throw new ShapeException($"short_conv: input {x.Shape} must be [B, T, C]");
        int B = x.Size(0), T = x.Size(1), C = x.Size(2);
        if (weight.Rank != 3 || weight.Size(0) != C || weight.Size(1) != 1)
            throw new ShapeException($"short_conv: weight {weight.Shape} must be [{C}, 1, K]");
        int K = weight.Size(2);
        if (mask != null)
        {
            if (mask.Rank != 2 || mask.Size(0) != B || mask.Size(1) != T) throw new ShapeException($"short_conv: 'mask' {mask.Shape} must be [B, T] = [{B}, {T}]");
            using var m = mask.To(x.DType);
            using var md = m.To(x.Data.Device);
            x = x * new Variable(md.Reshape(B, T, 1).Contiguous());
        }
        var w = weight.Reshape(C, K);
        Variable? y = null;
        for (int j = 0; j < K; j++)
        {
            int shift = K - 1 - j;
            if (shift >= T) continue;
            var shifted = shift == 0 ? x
                : Variable.Concat([new Variable(Tensor.Zeros([B, shift, C], x.DType, x.Data.Device)), x.Narrow(1, 0, T - shift)], 1);
            var term = shifted * w.Narrow(1, j, 1).Reshape(C);
            y = y == null ? term : y + term;
        }
        return y!;
    }
}
