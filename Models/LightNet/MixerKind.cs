using System.Text.Json.Serialization;
using LightNet.Models.Nn;

namespace LightNet.Models.LightNet;

/// <summary>Which token mixer a block uses: LightNet attention or one of the two baselines.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MixerKind>))]
public enum MixerKind
{
    /// <summary>LightNet additive-decay attention (<see cref="LightNetAttention"/>).</summary>
    [JsonStringEnumMemberName("lightnet")]
    LightNet,
    /// <summary>GLA-style multiplicative decay (<see cref="MultiplicativeDecayAttention"/>): 1 scan causal, 2 scans bidirectional 1-D.</summary>
    [JsonStringEnumMemberName("gla")]
    Gla,
    /// <summary>Causal softmax attention with rotary positions (<see cref="SoftmaxAttention"/>).</summary>
    [JsonStringEnumMemberName("softmax")]
    Softmax,
}

/// <summary>Names of <see cref="MixerKind"/> (the <c>--mixer</c> flag and the config.json <c>mixer</c> key) and the mixer factory.</summary>
public static class MixerKinds
{
    /// <summary>The config/flag name of a mixer.</summary>
    public static string Name(this MixerKind kind) => kind switch
    {
        MixerKind.LightNet => "lightnet",
        MixerKind.Gla => "gla",
        MixerKind.Softmax => "softmax",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Parses a name among <paramref name="allowed"/> (all kinds when null); the error lists the accepted names.</summary>
    public static MixerKind Parse(string name, string what = "mixer", IReadOnlyList<MixerKind>? allowed = null)
    {
        allowed ??= Enum.GetValues<MixerKind>();
        foreach (var k in allowed) if (k.Name() == name) return k;
        throw new ArgumentException($"{what}: unknown mixer '{name}' (expected {string.Join(", ", allowed.Select(k => k.Name()))})");
    }

    /// <summary>As <see cref="Parse"/> for a config file's <c>mixer</c> key: an unknown name is an <see cref="InvalidDataException"/>.</summary>
    public static MixerKind ParseConfig(string name, string source, IReadOnlyList<MixerKind>? allowed = null)
    {
        try { return Parse(name, source, allowed); }
        catch (ArgumentException e) { throw new InvalidDataException(e.Message, e); }
    }

    /// <summary>Creates the mixer module of a block (weights under <c>attn.</c>).</summary>
    public static ISequenceMixer Create(this MixerKind kind, AttentionConfig cfg, Generator gen, DType dtype) => kind switch
    {
        MixerKind.LightNet => new LightNetAttention(cfg, gen, dtype),
        MixerKind.Gla => new MultiplicativeDecayAttention(cfg, gen, dtype),
        MixerKind.Softmax => new SoftmaxAttention(cfg, gen, dtype),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
