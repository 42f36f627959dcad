using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace LightNet.Cli.CommandLine;

/// <summary>
/// Factories for the options of the <c>lightnet</c> commands: each flag's type, default, description and value check
/// are stated once, where the flag is defined; the parser reports a bad value before any command runs.
/// </summary>
internal static class Flags
{
    /// <summary>Flags that may differ when a run is resumed (they change neither the data stream nor the arithmetic).</summary>
    private static readonly HashSet<Option> ResumeFree = [];

    /// <summary>Reads an option's effective value as an object (for the recorded training configuration).</summary>
    private static readonly Dictionary<Option, Func<ParseResult, object?>> Readers = [];

    /// <summary>Whether <paramref name="o"/> may take another value on <c>--resume</c>.</summary>
    public static bool MayChangeOnResume(Option o) => ResumeFree.Contains(o);

    /// <summary>The option's effective value (given or default) in <paramref name="p"/>.</summary>
    public static object? Read(Option o, ParseResult p) => Readers.TryGetValue(o, out var r) ? r(p) : null;

    /// <summary>Marks <paramref name="o"/> as free to change on <c>--resume</c>.</summary>
    public static T FreeOnResume<T>(this T o) where T : Option
    {
        ResumeFree.Add(o);
        return o;
    }

    private static Option<T> Make<T>(string name, string description, Func<T>? dflt, Func<T, string?>? check = null, string? helpName = null)
    {
        var o = new Option<T>(name) { Description = description, HelpName = helpName };
        if (dflt != null) o.DefaultValueFactory = _ => dflt();
        if (check != null)
            o.Validators.Add(r =>
            {
                if (r.Tokens.Count == 0 && r.Implicit) return;
                T v;
                try { v = r.GetValueOrDefault<T>(); }
                catch (InvalidOperationException) { return; } // not of the type: the parser reports that itself
                if (v is not null && check(v) is { } why) r.AddError($"{name} {why}, got {Show(v)}");
            });
        Readers[o] = p => p.GetValue(o);
        return o;
    }

    private static string Show(object v) => v is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : v.ToString() ?? "";

    /// <summary>An integer of at least <paramref name="min"/>.</summary>
    public static Option<int> Int(string name, string description, int dflt, int min = 1) =>
        Make(name, description, () => dflt, v => v < min ? $"must be at least {min}" : null, "N");

    /// <summary>An optional integer of at least <paramref name="min"/> (absent: the command's documented choice).</summary>
    public static Option<int?> OptInt(string name, string description, int min = 1, int max = int.MaxValue) =>
        Make<int?>(name, description, null, v => v < min ? $"must be at least {min}" : v > max ? $"must be at most {max}" : null, "N");

    /// <summary>A 64-bit integer of at least <paramref name="min"/>.</summary>
    public static Option<long> Long(string name, string description, long dflt, long min = 1) =>
        Make(name, description, () => dflt, v => v < min ? $"must be at least {min}" : null, "N");

    /// <summary>An optional 64-bit integer of at least <paramref name="min"/>.</summary>
    public static Option<long?> OptLong(string name, string description, long min = 1) =>
        Make<long?>(name, description, null, v => v < min ? $"must be at least {min}" : null, "N");

    /// <summary>A finite number in [<paramref name="min"/>, <paramref name="max"/>] (an open bound where <paramref name="openMin"/>/<paramref name="openMax"/>).</summary>
    public static Option<double> Double(string name, string description, double dflt, double min = double.MinValue, double max = double.MaxValue, bool openMin = false, bool openMax = false) =>
        Make(name, description, () => dflt, v => CheckDouble(v, min, max, openMin, openMax), "X");

    /// <summary>An optional finite number in a range (absent: the command's documented choice).</summary>
    public static Option<double?> OptDouble(string name, string description, double min = double.MinValue, double max = double.MaxValue, bool openMin = false, bool openMax = false) =>
        Make<double?>(name, description, null, v => CheckDouble(v!.Value, min, max, openMin, openMax), "X");

    private static string? CheckDouble(double v, double min, double max, bool openMin, bool openMax)
    {
        if (!double.IsFinite(v)) return "must be a finite number";
        if (v < min || (openMin && v == min)) return $"must be {(openMin ? "above" : "at least")} {Show(min)}";
        if (v > max || (openMax && v == max)) return $"must be {(openMax ? "below" : "at most")} {Show(max)}";
        return null;
    }

    /// <summary>A seed: a non-negative 64-bit integer.</summary>
    public static Option<long> Seed(string name = "--seed", string description = "seed of initialisation, data order and per-step randomness") =>
        Long(name, description, 0, min: 0);

    /// <summary>A string; <paramref name="check"/> returns why a value is refused (or null).</summary>
    public static Option<string> String(string name, string description, string dflt, string helpName, Func<string, string?>? check = null) =>
        Make(name, description, () => dflt, check, helpName);

    /// <summary>An optional string (absent: the command's documented choice).</summary>
    public static Option<string?> OptString(string name, string description, string helpName, Func<string, string?>? check = null) =>
        Make<string?>(name, description, null, check == null ? null : v => check(v!), helpName);

    /// <summary>One of <paramref name="choices"/>.</summary>
    public static Option<string> Choice(string name, string description, string dflt, params string[] choices)
    {
        var o = Make(name, description, () => dflt, null, string.Join('|', choices));
        o.AcceptOnlyFromAmong(choices);
        return o;
    }

    /// <summary><c>on</c> or <c>off</c>, absent meaning the command's documented choice.</summary>
    public static Option<string?> OnOff(string name, string description)
    {
        var o = Make<string?>(name, description, null, null, "on|off");
        o.AcceptOnlyFromAmong("on", "off");
        return o;
    }

    /// <summary>A switch without a value.</summary>
    public static Option<bool> Switch(string name, string description) => Make(name, description, () => false);

    /// <summary><c>--device cpu|cuda[:N]</c>.</summary>
    public static Option<string> Device(string description = "device: cpu, cuda or cuda:N") =>
        String("--device", description, "cpu", "cpu|cuda[:N]", v =>
        {
            try { LightNet.Device.Parse(v); return null; }
            catch (ArgumentException) { return "must be cpu, cuda or cuda:N"; }
        });

    /// <summary><c>--threads N</c>: CPU threads (default: LIGHTNET_NUM_THREADS, else every core).</summary>
    public static Option<int?> Threads() => OptInt("--threads", "CPU threads (default: $LIGHTNET_NUM_THREADS, else all cores)", 1, 4096).FreeOnResume();

    /// <summary><c>--dtype</c> of the weights and activations.</summary>
    public static Option<string> DType(string description = "dtype of weights and activations (bfloat16 storage needs --device cuda)") =>
        Choice("--dtype", description, "float32", "float32", "float64", "bfloat16");
}
