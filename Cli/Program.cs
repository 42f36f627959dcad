using System.CommandLine;
using System.CommandLine.Parsing;
using LightNet.Cli.CommandLine;

namespace LightNet.Cli;

/// <summary>Entry point of the <c>lightnet</c> command.</summary>
public static class Program
{
    /// <summary>Runs the command line and exits with its code.</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>
    /// Parses <paramref name="args"/> against <see cref="LightNetCommands"/> and runs the command. No arguments print
    /// the help. A parse error, a bad value or a user error while running is one line on <paramref name="error"/> and
    /// exit code 2 (commands may return 1 for a negative result, such as a failing golden file).
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = LightNetCommands.Build(args);
        var parse = root.Parse(args.Length == 0 ? ["--help"] : args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        if (parse.Errors.Count > 0)
        {
            error.WriteLine($"lightnet{CommandPath(parse)}: {Describe(parse, parse.Errors[0])} (see 'lightnet{CommandPath(parse)} --help')");
            return 2;
        }
        if (EnvironmentSettings.Problems().FirstOrDefault() is { } env)
        {
            error.WriteLine($"lightnet: {env}");
            return 2;
        }
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception e) when (IsUserError(e))
        {
            var path = CommandPath(parse);
            var message = e.Message.ReplaceLineEndings(" ");
            error.WriteLine(message.StartsWith(path.TrimStart() + ":", StringComparison.Ordinal) ? $"lightnet {message}" : $"lightnet{path}: {message}");
            return 2;
        }
    }

    /// <summary>Errors that come from what the user gave (flags, files, data, devices), reported without a stack trace.</summary>
    private static bool IsUserError(Exception e) => e is ArgumentException or InvalidOperationException or IOException or InvalidDataException
        or NotSupportedException or UnauthorizedAccessException or KeyNotFoundException or FormatException or OverflowException;

    private static string CommandPath(ParseResult p)
    {
        var names = new List<string>();
        for (SymbolResult? r = p.CommandResult; r is CommandResult c && c.Parent != null; r = r.Parent) names.Insert(0, c.Command.Name);
        return names.Count == 0 ? "" : " " + string.Join(' ', names);
    }

    /// <summary>The parser's message, with the nearest flag or command for an unknown token.</summary>
    private static string Describe(ParseResult p, ParseError e)
    {
        var token = p.UnmatchedTokens.Count > 0 ? p.UnmatchedTokens[0] : null;
        if (token == null) return string.Join(' ', e.Message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var command = p.CommandResult.Command;
        var known = token.StartsWith('-')
            ? command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name))
            : command.Subcommands.Select(c => c.Name);
        var near = known.Select(k => (k, d: Distance(token, k))).Where(x => x.d <= Math.Max(2, token.Length / 3)).OrderBy(x => x.d).Select(x => x.k).FirstOrDefault();
        var what = token.StartsWith('-') ? "unknown option" : command.Subcommands.Count > 0 ? "unknown command" : "unexpected argument";
        return $"{what} '{token}'" + (near != null ? $"; did you mean '{near}'?" : "");
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
