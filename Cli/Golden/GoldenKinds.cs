using System.Reflection;

namespace LightNet.Cli.Golden;

/// <summary>Registry of golden-file kinds: every <see cref="IGoldenKind"/> in this assembly, by its <c>kind</c> name.</summary>
public static class GoldenKinds
{
    private static readonly Lazy<Dictionary<string, IGoldenKind>> All = new(Discover);

    /// <summary>Known kind names, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. All.Value.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The handler of a kind; a <see cref="GoldenFileException"/> listing the known kinds when there is none.</summary>
    public static IGoldenKind Find(string kind, string file) =>
        All.Value.TryGetValue(kind, out var h) ? h
            : throw new GoldenFileException($"golden file '{file}': unknown kind '{kind}' (known kinds: {string.Join(", ", Names)})");

    private static Dictionary<string, IGoldenKind> Discover()
    {
        var map = new Dictionary<string, IGoldenKind>(StringComparer.Ordinal);
        foreach (var t in typeof(GoldenKinds).Assembly.GetTypes())
        {
            if (t.IsAbstract || t.IsInterface || !typeof(IGoldenKind).IsAssignableFrom(t)) continue;
            var ctor = t.GetConstructor(BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes)
                ?? throw new InvalidOperationException($"golden kind handler {t.Name} needs a public parameterless constructor");
            var h = (IGoldenKind)ctor.Invoke(null);
            if (!map.TryAdd(h.Kind, h)) throw new InvalidOperationException($"golden kind '{h.Kind}' is handled by both {map[h.Kind].GetType().Name} and {t.Name}");
        }
        return map;
    }
}
