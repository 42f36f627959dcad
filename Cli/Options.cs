using System.Globalization;

namespace LightNet.Cli;

/// <summary>Minimal <c>--name value</c> / <c>--flag</c> parser; unknown or malformed options are errors naming them.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly string _command;

    public Options(string command, string[] args, IReadOnlySet<string> flags)
    {
        _command = command;
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"{command}: unexpected argument '{a}'");
            if (flags.Contains(a)) { _values[a] = null; continue; }
            if (i + 1 >= args.Length) throw new ArgumentException($"{command}: option {a} needs a value");
            _values[a] = args[++i];
        }
    }

    public bool Flag(string name) { _used.Add(name); return _values.ContainsKey(name); }

    public string? String(string name) { _used.Add(name); return _values.TryGetValue(name, out var v) ? v : null; }

    public long? Long(string name)
    {
        var s = String(name);
        if (s == null) return null;
        return long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0 ? v : throw new ArgumentException($"{_command}: {name} expects a non-negative integer, got '{s}'");
    }

    public int? Int(string name) => Long(name) is long v ? checked((int)v) : null;

    public double? Double(string name)
    {
        var s = String(name);
        if (s == null) return null;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"{_command}: {name} expects a number, got '{s}'");
    }

    /// <summary>Throws when an option was given that nobody read.</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"{_command}: unknown option {string.Join(", ", unknown)}");
    }
}
