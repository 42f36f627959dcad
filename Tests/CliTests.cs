using System.CommandLine;
using LightNet.Cli;
using LightNet.Cli.CommandLine;

namespace LightNet.Tests;

/// <summary>The <c>lightnet</c> command line from its own definitions: help for every command, and bad values refused before anything runs.</summary>
public class CliTests
{
    private static (int Rc, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        return (Program.Run(args, o, e), o.ToString(), e.ToString());
    }

    /// <summary>Every command path of the tree (e.g. <c>train classify</c>) with its command.</summary>
    private static IEnumerable<(string Path, Command Command)> Commands(Command c, string prefix = "")
    {
        foreach (var s in c.Subcommands)
        {
            var path = (prefix + " " + s.Name).Trim();
            yield return (path, s);
            foreach (var x in Commands(s, path)) yield return x;
        }
    }

    private static IEnumerable<string> CommandPaths() => Commands(LightNetCommands.Build([])).Select(c => c.Path);

    [Test]
    public void NoArgumentsPrintTheHelp()
    {
        var r = Run();
        Assert.That(r.Rc, Is.Zero);
        Assert.That(r.Out, Does.Contain("Usage:").And.Contain("train").And.Contain("golden"));
    }

    [TestCaseSource(nameof(CommandPaths))]
    public void HelpListsEveryFlag(string path)
    {
        var command = Commands(LightNetCommands.Build([])).Single(c => c.Path == path).Command;
        foreach (var flag in new[] { "--help", "-h" })
        {
            var r = Run([.. path.Split(' '), flag]);
            Assert.That(r.Rc, Is.Zero, r.Err);
            foreach (var o in command.Options) Assert.That(r.Out, Does.Contain(o.Name), $"{path} {flag} lists {o.Name}");
            foreach (var s in command.Subcommands) Assert.That(r.Out, Does.Contain(s.Name));
        }
    }

    [Test]
    public void TrainClassifyHelpShowsTheCommonTrainingFlags()
    {
        var r = Run("train", "classify", "--help");
        Assert.That(r.Out, Does.Contain("--grad-accum").And.Contain("--weight-decay").And.Contain("--warmup").And.Contain("--clip").And.Contain("[default: 2800]"));
    }

    /// <summary>Values that no flag of their type accepts, for every flag of every command.</summary>
    private static IEnumerable<TestCaseData> BadValues()
    {
        foreach (var (path, command) in Commands(LightNetCommands.Build([])).Where(c => c.Command.Subcommands.Count == 0))
            foreach (var o in command.Options)
            {
                var t = Nullable.GetUnderlyingType(o.ValueType) ?? o.ValueType;
                string[] bad = t == typeof(int) || t == typeof(long) ? ["abc", "1.5", "", "99999999999999999999", "-99999999999999999999"]
                    : t == typeof(double) ? ["abc", "nan", "NaN", "inf", "-Infinity", "1e999", ""]
                    : [];
                foreach (var v in bad) yield return new TestCaseData(path, o.Name, v).SetName($"{path} {o.Name} '{v}'");
            }
    }

    [TestCaseSource(nameof(BadValues))]
    public void BadValueIsOneLineAndExitCodeTwo(string path, string flag, string value)
    {
        var r = Run([.. path.Split(' '), flag, value]);
        Assert.That(r.Rc, Is.EqualTo(2), r.Out + r.Err);
        Assert.That(r.Err.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(r.Err, Does.StartWith($"lightnet {path}: ").And.Contain(flag).Or.Contain($"'{value}'"));
        Assert.That(r.Err, Does.Not.Contain(" at "), "no stack trace");
    }

    /// <summary>Flags whose range includes zero as an ordinary value (a seed, an index, a coefficient, a probability).</summary>
    private static readonly HashSet<string> ZeroIsOrdinary =
        ["--seed", "--sample-seed", "--data-seed", "--node-rank", "--weight-decay", "--ema", "--label-drop", "--guidance", "--eta"];
    /// <summary>Flags where zero (or ≤ 0) switches something off; their help says so as "0: …" or "≤ 0: …".</summary>
    private static readonly HashSet<string> ZeroIsSpecial = ["--clip", "--gpus", "--procs", "--warmup", "--temperature", "--top-k", "--tokens", "--sample-tokens"];
    private static readonly HashSet<string> NegativeMeans = ["--clip"];

    /// <summary>Zero and negative values for every numeric flag of every command, from the definitions.</summary>
    private static IEnumerable<TestCaseData> ZeroAndNegative()
    {
        foreach (var (path, command) in Commands(LightNetCommands.Build([])).Where(c => c.Command.Subcommands.Count == 0))
            foreach (var o in command.Options)
            {
                var t = Nullable.GetUnderlyingType(o.ValueType) ?? o.ValueType;
                if (t != typeof(int) && t != typeof(long) && t != typeof(double)) continue;
                foreach (var v in new[] { "0", "-1", "-7.5" })
                    if (t == typeof(double) || !v.Contains('.')) yield return new TestCaseData(path, o.Name, v).SetName($"{path} {o.Name} {v} (zero/negative)");
            }
    }

    /// <summary>A zero or negative value is refused by name unless the flag documents what it means; nothing runs either way here (parse only).</summary>
    [TestCaseSource(nameof(ZeroAndNegative))]
    public void ZeroAndNegativeValuesAreRefusedOrDocumented(string path, string flag, string value)
    {
        var parse = LightNetCommands.Build([]).Parse([.. path.Split(' '), flag, value]);
        bool accepted = value == "0" ? ZeroIsOrdinary.Contains(flag) || ZeroIsSpecial.Contains(flag) : NegativeMeans.Contains(flag);
        if (accepted)
        {
            Assert.That(parse.Errors, Is.Empty, $"{flag} {value} is in the flag's range");
            var help = parse.CommandResult.Command.Options.Single(o => o.Name == flag).Description;
            if (value != "0" || ZeroIsSpecial.Contains(flag))
                Assert.That(help, Does.Contain("0: ").Or.Contain("≤ 0: "), $"{flag}'s help says what {value} means");
        }
        else
        {
            Assert.That(parse.Errors, Is.Not.Empty, $"{path} {flag} {value} must be refused");
            Assert.That(parse.Errors[0].Message, Does.Contain(flag));
        }
    }

    [TestCase("train classify --steps 0", "--steps must be at least 1, got 0")]
    [TestCase("train classify --batch-size -3", "--batch-size must be at least 1, got -3")]
    [TestCase("train classify --eval-every 0", "--eval-every must be at least 1, got 0")]
    [TestCase("train generate --label-drop 1.5", "--label-drop must be at most 1, got 1.5")]
    [TestCase("train generate --ema 1", "--ema must be below 1, got 1")]
    [TestCase("train classify --lr 0", "--lr must be above 0, got 0")]
    [TestCase("train classify --master-port 70000", "--master-port must be at most 65535, got 70000")]
    [TestCase("train classify --threads 0", "--threads must be at least 1, got 0")]
    [TestCase("train classify --device tpu", "--device must be cpu, cuda or cuda:N, got tpu")]
    [TestCase("train clasify", "unknown command 'clasify'; did you mean 'classify'?")]
    [TestCase("train classify --weight-decy 0.1", "unknown option '--weight-decy'; did you mean '--weight-decay'?")]
    [TestCase("golden", "Required argument missing")]
    [TestCase("export fla --run runs/lm", "Option '--out' is required")]
    [TestCase("demo --steps abc", "Cannot parse argument 'abc' for option '--steps'")]
    public void OutOfRangeValuesAreRefusedBeforeAnythingRuns(string line, string message)
    {
        var r = Run(line.Split(' '));
        Assert.That(r.Rc, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain(message));
        Assert.That(r.Out, Is.Empty, "nothing ran");
    }

    [Test]
    public void GoldenOnAMissingFileIsAUsageError()
    {
        var r = Run("golden", Path.Combine(Path.GetTempPath(), "lightnet-no-such-file.safetensors"));
        Assert.That(r.Rc, Is.EqualTo(2));
        Assert.That(r.Err, Does.StartWith("lightnet golden: "));
    }

    [TestCase("0")]
    [TestCase("-3")]
    [TestCase("abc")]
    [TestCase("")]
    [NonParallelizable]
    public void ABadThreadCountInTheEnvironmentIsNamed(string value)
    {
        var old = Environment.GetEnvironmentVariable(Parallelism.EnvVar);
        Environment.SetEnvironmentVariable(Parallelism.EnvVar, value);
        try
        {
            var r = Run("demo", "--steps", "1");
            if (value.Length == 0) { Assert.That(r.Rc, Is.Zero, "an empty variable is unset"); return; }
            Assert.That(r.Rc, Is.EqualTo(2));
            Assert.That(r.Err.Trim(), Is.EqualTo($"lightnet: LIGHTNET_NUM_THREADS must be a positive integer, got '{value}'"));
        }
        finally { Environment.SetEnvironmentVariable(Parallelism.EnvVar, old); }
    }

    [TestCase("LIGHTNET_CUBLAS", "yes", "LIGHTNET_CUBLAS must be 0 or 1, got 'yes'")]
    [TestCase("LIGHTNET_NVRTC", "2", "LIGHTNET_NVRTC must be 0 or 1, got '2'")]
    [TestCase("LIGHTNET_CUDA_PTX_DIR", "/nonexistent/ptx", "LIGHTNET_CUDA_PTX_DIR=/nonexistent/ptx is not a folder")]
    [TestCase("LIGHTNET_CUDA_LIB_DIR", "/nonexistent/lib", "LIGHTNET_CUDA_LIB_DIR names '/nonexistent/lib', which is not a folder")]
    [TestCase("LIGHTNET_DATA_DIR", "/etc/hostname", "LIGHTNET_DATA_DIR=/etc/hostname is a file")]
    [NonParallelizable]
    public void AnUnusableEnvironmentSettingIsNamed(string name, string value, string message)
    {
        var old = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
        try
        {
            var r = Run("demo", "--steps", "1");
            Assert.That(r.Rc, Is.EqualTo(2));
            Assert.That(r.Err, Does.StartWith("lightnet: " + message));
        }
        finally { Environment.SetEnvironmentVariable(name, old); }
    }
}
