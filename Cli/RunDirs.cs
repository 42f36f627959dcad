using LightNet.Cli.CommandLine;
using LightNet.Models.Training;

namespace LightNet.Cli;

/// <summary>Run directories as <c>eval</c> and <c>sample</c> meet them: the right kind of run, and outputs that never replace what training wrote.</summary>
internal static class RunDirs
{
    /// <summary>Files a training run writes at the top of its directory (its <c>checkpoint/</c> folder is protected as a whole).</summary>
    private static readonly string[] Artefacts =
        ["config.json", TrainingConfigFile.FileName, "metrics.jsonl", "loss.png", "model.safetensors", "model_ema.safetensors", "samples.png", "tokenizer.json"];

    /// <summary>The <c>--run</c> directory, checked to exist and to hold a run of <paramref name="task"/> (<c>train TASK</c>).</summary>
    public static string Require(Args a, string task)
    {
        var dir = a.String("--run");
        return Check(a, dir, task, "--run");
    }

    /// <summary>Checks that <paramref name="dir"/> (given by <paramref name="flag"/>) holds a run of <paramref name="task"/>.</summary>
    public static string Check(Args a, string dir, string task, string flag)
    {
        if (!Directory.Exists(dir))
            throw a.Error($"{flag} {dir}: no such run directory (train one with 'lightnet train {task} --out {dir}')");
        var kind = TrainingConfigFile.TaskOf(dir);
        if (kind != null && kind != task)
            throw a.Error($"{flag} {dir} holds a '{kind}' run (lightnet train {kind}); {a.Command} needs a run of 'lightnet train {task}'");
        return dir;
    }

    /// <summary>
    /// Where a sample goes: <paramref name="given"/> unless it names one of the run's training artefacts (an error), else
    /// the first free <c>DIR/STEM-N.EXT</c>.
    /// </summary>
    public static string Output(Args a, string dir, string? given, string stem, string ext)
    {
        if (given != null)
        {
            var full = Path.GetFullPath(given);
            var runFull = Path.GetFullPath(dir);
            bool artefact = Artefacts.Any(f => string.Equals(full, Path.Combine(runFull, f), StringComparison.Ordinal))
                || full.StartsWith(Path.GetFullPath(TrainingCheckpoint.PathIn(dir)) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
            if (artefact) throw a.Error($"{given} is a file of the training run; choose another output path");
            return given;
        }
        for (int n = 1; ; n++)
        {
            var path = Path.Combine(dir, $"{stem}-{n}.{ext}");
            if (!File.Exists(path)) return path;
        }
    }
}
