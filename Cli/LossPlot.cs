using LightNet.Models.Training;

namespace LightNet.Cli;

/// <summary>Draws the training loss of a run (from metrics.jsonl) as <c>loss.png</c> in the run directory.</summary>
internal static class LossPlot
{
    public static string? Write(string runDir)
    {
        var rows = new MetricsLog(runDir).Read().Where(r => r.ContainsKey("loss") && r.ContainsKey("step")).ToList();
        if (rows.Count < 2) return null;
        var plot = new ScottPlot.Plot();
        var xs = rows.Select(r => (double)r["step"].GetInt64()).ToArray();
        var ys = rows.Select(r => r["loss"].GetDouble()).ToArray();
        plot.Add.Scatter(xs, ys);
        plot.Title("training loss");
        plot.XLabel("step");
        plot.YLabel("cross-entropy");
        var path = Path.Combine(runDir, "loss.png");
        plot.SavePng(path, 800, 500);
        return path;
    }
}
