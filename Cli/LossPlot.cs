using LightNet.Models.Training;

namespace LightNet.Cli;

/// <summary>
/// Draws a run's curves from metrics.jsonl as <c>loss.png</c> in the run directory: the training loss (left axis,
/// labelled with what the task's loss measures: cross-entropy for the language models and the classifier, the
/// mean squared error of the predicted noise for the DiT) and, beside it, the validation metrics the task
/// logged: losses (<c>val_loss</c>, <c>test_masked_loss</c>) on the same axis, accuracies (<c>test_accuracy</c>,
/// <c>test_masked_accuracy</c>) on a right axis; a legend names each curve.
/// </summary>
internal static class LossPlot
{
    /// <summary>Evaluation keys drawn, with their legend text; losses share the training loss's axis, accuracies get the right one.</summary>
    private static readonly (string Key, string Legend, bool Accuracy)[] Validation =
    [
        ("val_loss", "validation loss", false),
        ("test_masked_loss", "test loss (masked tokens)", false),
        ("test_accuracy", "test accuracy", true),
        ("test_masked_accuracy", "test accuracy (masked tokens)", true),
    ];

    /// <summary>
    /// Writes <c>loss.png</c> and returns its path, or null when metrics.jsonl has fewer than two training-loss
    /// records. <paramref name="lossName"/> labels the loss axis (pass the task's <see cref="ITrainingTask.LossName"/>);
    /// null reads it from the run's config.json (<see cref="LossNames.ForRun"/>).
    /// </summary>
    public static string? Write(string runDir, string? lossName = null)
    {
        var records = new MetricsLog(runDir).Read();
        var rows = records.Where(r => r.ContainsKey("loss") && r["loss"].ValueKind == System.Text.Json.JsonValueKind.Number && r.ContainsKey("step")).ToList();
        if (rows.Count < 2) return null;
        lossName ??= LossNames.ForRun(runDir) ?? "loss";
        var plot = new ScottPlot.Plot();
        var train = plot.Add.Scatter(rows.Select(r => (double)r["step"].GetInt64()).ToArray(), rows.Select(r => r["loss"].GetDouble()).ToArray());
        train.LegendText = "training loss";
        train.MarkerSize = 0;
        bool anyValidation = false, anyAccuracy = false;
        foreach (var (key, legend, accuracy) in Validation)
        {
            var evals = records.Where(r => r.ContainsKey(key) && r.ContainsKey("step") && !r.ContainsKey("loss")).ToList();
            if (evals.Count == 0) continue;
            var s = plot.Add.Scatter(evals.Select(r => (double)r["step"].GetInt64()).ToArray(), evals.Select(r => r[key].GetDouble()).ToArray());
            s.LegendText = legend;
            s.MarkerSize = 8;
            s.LineWidth = 2;
            if (accuracy)
            {
                s.Axes.YAxis = plot.Axes.Right;
                anyAccuracy = true;
            }
            anyValidation = true;
        }
        plot.Title(anyValidation ? "training loss and validation" : "training loss");
        plot.XLabel("step");
        plot.YLabel(lossName);
        if (anyAccuracy) plot.Axes.Right.Label.Text = "accuracy";
        plot.ShowLegend(anyAccuracy ? ScottPlot.Alignment.MiddleRight : ScottPlot.Alignment.UpperRight);
        var path = Path.Combine(runDir, "loss.png");
        plot.SavePng(path, 800, 500);
        return path;
    }
}
