namespace LightNet.Tests;

/// <summary>
/// Regression: the CPU chunk kernel chose the single-factor form <c>exp(G_t)·exp(−G_s)</c> from the signed
/// <c>MaxMagnitude</c> of G (always ≤ 0), i.e. always, so float32 overflowed (e^{−G} = ∞) once a chunk's cumulative
/// decay passed −88. Found on the trained GLA baseline (NaN losses); its layer-0 inputs are the first case here.
/// </summary>
public class GatedFloat32RegressionTests
{
    [TestCase(64)]
    [TestCase(128)]
    public void TrainedGlaInputsMatchTheRecurrence(int chunk)
    {
        using var s = DisposalScope.Begin();
        using var f = SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "repro", "gated_f32_chunk64.safetensors"));
        var q = f.Load("q"); var k = f.Load("k"); var v = f.Load("v"); var g = f.Load("g");
        double scale = double.Parse(f.Metadata["scale"], System.Globalization.CultureInfo.InvariantCulture);
        var (rec, _) = GatedAttention.Recurrent(q, k, v, g, scale);
        var (o, _) = GatedAttention.Forward(q, k, v, g, scale, null, chunk);
        Reference.Close(o, rec, 1e-4, $"chunk {chunk} vs recurrence (float32)");
    }

    [Test]
    public void StrongDecaysStayFiniteInFloat32ForwardAndBackward()
    {
        using var s = DisposalScope.Begin();
        int T = 150, d = 5, e = 3;
        var q = Reference.Randn([1, 2, T, d], DType.Float32, 1);
        var k = Reference.Randn([1, 2, T, d], DType.Float32, 2);
        var v = Reference.Randn([1, 2, T, e], DType.Float32, 3);
        using var u = Tensor.Rand([1, 2, T, d], new Generator(4));
        var g = u * -3.0;                                   // cumulative decay ≈ −96 per 64-token chunk
        var dO = Reference.Randn([1, 2, T, e], DType.Float32, 5);
        var (rec, _) = GatedAttention.Recurrent(q, k, v, g, 0.5);
        var (o, _) = GatedAttention.Forward(q, k, v, g, 0.5, null, 64);
        Reference.Close(o, rec, 1e-4, "forward");
        var (dq, dk, dv, dg, _) = GatedAttention.Backward(q, k, v, g, 0.5, null, dO, null, 64);
        var r64 = GatedAttention.Backward(q.To(DType.Float64), k.To(DType.Float64), v.To(DType.Float64), g.To(DType.Float64), 0.5, null, dO.To(DType.Float64), null, 64);
        Reference.Close(dq, r64.Dq, 1e-4, "dq"); Reference.Close(dk, r64.Dkbar, 1e-4, "dk");
        Reference.Close(dv, r64.Dv, 1e-4, "dv"); Reference.Close(dg, r64.Dg, 1e-4, "dg");
    }
}
