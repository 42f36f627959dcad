using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json;

namespace LightNet.Cli.CommandLine;

/// <summary>
/// The parsed command line of one command: values by flag name (given or the definition's default). A resumed run
/// sets <see cref="Recorded"/>, whose values stand in for the flags the command line leaves out.
/// </summary>
internal sealed class Args(ParseResult parse, string command, string[] raw)
{
    /// <summary>The command line as given (a data-parallel launch re-runs it in each rank).</summary>
    public string[] Raw { get; } = raw;

    /// <summary>The parse this reads.</summary>
    public ParseResult Parse { get; } = parse;

    /// <summary>The command path, e.g. <c>train classify</c> (errors start with it).</summary>
    public string Command { get; } = command;

    /// <summary>The recorded training configuration of the run being resumed (snake_case keys), or null.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Recorded { get; set; }

    /// <summary>The options of this command.</summary>
    public IEnumerable<Option> Options => Parse.CommandResult.Command.Options;

    /// <summary>Whether <paramref name="name"/> was written on the command line.</summary>
    public bool Given(string name) => Parse.GetResult(name) is OptionResult { Implicit: false };

    /// <summary>
    /// The value of <paramref name="name"/>: given, else recorded (on resume, for the flags that must stay as they were),
    /// else the default.
    /// </summary>
    public T Get<T>(string name)
    {
        if (!Given(name) && Recorded != null && Recorded.TryGetValue(Key(name), out var r)
            && Options.FirstOrDefault(o => o.Name == name) is { } option && !Flags.MayChangeOnResume(option))
            return r.Deserialize<T>()!;
        return Parse.GetValue<T>(name)!;
    }

    public int Int(string name) => Get<int>(name);
    public int? OptInt(string name) => Get<int?>(name);
    public long Long(string name) => Get<long>(name);
    public long? OptLong(string name) => Get<long?>(name);
    public double Double(string name) => Get<double>(name);
    public double? OptDouble(string name) => Get<double?>(name);
    public string String(string name) => Get<string>(name);
    public string? OptString(string name) => Get<string?>(name);
    public bool Flag(string name) => Get<bool>(name);
    public ulong Seed(string name = "--seed") => (ulong)Get<long>(name);

    /// <summary><c>on|off</c> as a bool, null when absent.</summary>
    public bool? OnOff(string name) => OptString(name) is { } v ? v == "on" : null;

    /// <summary>The JSON key a flag is recorded under: <c>--batch-size</c> → <c>batch_size</c>.</summary>
    public static string Key(string flag) => flag.TrimStart('-').Replace('-', '_');

    /// <summary>An error for this command (exit code 2, one line).</summary>
    public ArgumentException Error(string message) => new($"{Command}: {message}");
}
