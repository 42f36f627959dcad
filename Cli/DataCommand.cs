using LightNet.Models.Data;

namespace LightNet.Cli;

/// <summary><c>lightnet data fetch [fashion-mnist|sotu|moby-dick|brown|all] [--dir DIR]</c>: downloads and verifies data sets.</summary>
public static class DataCommand
{
    /// <summary>Usage text.</summary>
    public const string Usage = "lightnet data fetch [fashion-mnist|sotu|moby-dick|brown|all] [--dir DIR]";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (args.Length == 0 || args[0] != "fetch")
        {
            stderr.WriteLine($"usage: {Usage}");
            return 2;
        }
        string what = "all";
        string? dir = null;
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i] == "--dir" && i + 1 < args.Length) dir = args[++i];
            else if (!args[i].StartsWith('-')) what = args[i];
            else
            {
                stderr.WriteLine($"lightnet data: unknown option '{args[i]}'\nusage: {Usage}");
                return 2;
            }
        }
        if (what != "all" && what != "fashion-mnist" && !TextCorpus.Names.Contains(what))
        {
            stderr.WriteLine($"lightnet data: unknown data set '{what}'\nusage: {Usage}");
            return 2;
        }
        var cache = new DataCache(dir);
        stdout.WriteLine($"data cache: {cache.Root}");
        switch (what)
        {
            case "fashion-mnist": FetchFashionMnist(cache, stdout); break;
            case "sotu": FetchText(cache, "sotu", stdout); break;
            case "moby-dick": FetchText(cache, "moby-dick", stdout); break;
            case "brown": FetchText(cache, "brown", stdout); break;
            default:
                FetchFashionMnist(cache, stdout);
                foreach (var n in TextCorpus.Names) FetchText(cache, n, stdout);
                break;
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
