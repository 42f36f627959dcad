namespace LightNet.Models.LightNet;

/// <summary>MD-LRPE angles computed once per (grid, head dim, base, offset, dtype, device) and kept for the model's lifetime.</summary>
public sealed class LrpeAngleCache
{
    private readonly Dictionary<string, Tensor> _cache = [];
    private readonly Lock _lock = new();

    /// <summary>Angles [T, d] for the grid (optionally shifted by a decoding offset and limited to <paramref name="tokens"/> positions).</summary>
    public Tensor Get(int[] grid, int headDim, double base_, DType dtype, Device device, int offset = 0, int? tokens = null)
    {
        var key = $"{string.Join("x", grid)}|{headDim}|{base_}|{dtype}|{device}|{offset}|{tokens}";
        lock (_lock)
        {
            if (_cache.TryGetValue(key, out var t)) return t;
            using var a = MdLrpe.Angles(grid, headDim, 0, base_, offset, tokens, dtype);
            t = DisposalScope.Detach(a.To(device));
            _cache[key] = t;
            return t;
        }
    }
}
