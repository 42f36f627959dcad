namespace LightNet.Tests;

/// <summary>Reproductions of open bugs; explicit (run by name) until fixed, then they become ordinary tests.</summary>
public class KnownBugTests
{
    /// <summary>
    /// Open bug: the float32 chunked gated kernel on the CPU returns ±∞/NaN for these inputs (layer 0 of a trained
    /// GLA baseline: g ∈ [−3.6, −0.02], |q|, |k| &lt; 3, d = e = 32, T = 256, cumulative decay down to −91 within a
    /// 64-token chunk) with chunks of 64 or 128, while chunks of 16, 32 and 48, the float32 recurrence and float64
    /// are finite (max |o| 5.4). Independent of the single-factor limit (also with only the tiled form).
    /// </summary>
    [Test, Explicit("open bug: float32 chunked gated kernel overflows on these inputs with chunk ≥ 64")]
    public void GatedFloat32Chunk64MatchesTheRecurrence()
    {
        using var s = DisposalScope.Begin();
        using var f = SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "repro", "gated_f32_chunk64.safetensors"));
        var q = f.Load("q"); var k = f.Load("k"); var v = f.Load("v"); var g = f.Load("g");
        double scale = double.Parse(f.Metadata["scale"], System.Globalization.CultureInfo.InvariantCulture);
        var (rec, _) = GatedAttention.Recurrent(q, k, v, g, scale);
        var (o, _) = GatedAttention.Forward(q, k, v, g, scale, null, 64);
        Reference.Close(o, rec, 1e-4, "chunk 64 vs recurrence (float32)");
    }
}
