using LightNet.Cli.CommandLine;
using LightNet.Models.Data;

namespace LightNet.Cli;

/// <summary><c>lightnet data fetch [fashion-mnist|sotu|moby-dick|brown|all] [--dir DIR]</c>: downloads and verifies data sets.</summary>
internal static class DataCommand
{
    /// <summary>Fetches <paramref name="what"/> into the cache folder and reports what it holds.</summary>
    public static int Run(Args a, string what, TextWriter stdout)
    {
        var cache = new DataCache(a.OptString("--dir"));
        stdout.WriteLine($"data cache: {cache.Root}");
        switch (what)
        {
            case "fashion-mnist": FetchFashionMnist(cache, stdout); break;
            case "all":
                FetchFashionMnist(cache, stdout);
                foreach (var n in TextCorpus.Names) FetchText(cache, n, stdout);
                break;
            default: FetchText(cache, what, stdout); break;
        }
        return 0;
    }

    private static void FetchFashionMnist(DataCache cache, TextWriter o)
    {
        var dir = cache.EnsureFashionMnist(o);
        var train = FashionMnist.Load(dir, train: true);
        var test = FashionMnist.Load(dir, train: false);
        o.WriteLine($"fashion-mnist: {train.Count} train + {test.Count} test images in {dir}");
    }

    private static void FetchText(DataCache cache, string name, TextWriter o)
    {
        var c = TextCorpus.LoadOrFetch(name, cache, o);
        var where = name switch { "sotu" => cache.SotuDir, "moby-dick" => cache.MobyDickFile, _ => cache.BrownDir };
        long chars = c.Train.Sum(d => (long)d.Length), vchars = c.Validation.Sum(d => (long)d.Length);
        o.WriteLine($"{name}: {c.Train.Count} train documents ({chars:N0} chars), {c.Validation.Count} held-out ({vchars:N0} chars) in {where}");
    }
}
