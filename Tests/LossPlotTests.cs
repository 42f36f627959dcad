using LightNet.Cli;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Tests;

public class LossPlotTests
{
    /// <summary>metrics.jsonl as the training loop writes it: loss rows every step, evaluation rows every 4 steps and at the end.</summary>
    private static void WriteMetrics(string dir, params string[] evalKeys)
    {
        var lines = new List<string>();
        for (int step = 1; step <= 12; step++)
        {
            lines.Add($"{{\"step\":{step},\"loss\":{2.0 / step:R},\"lr\":0.001,\"items_per_s\":100.5}}");
            if (step % 4 == 0 && evalKeys.Length > 0)
                lines.Add("{\"step\":" + step + "," + string.Join(",", evalKeys.Select(k => $"\"{k}\":{(k.Contains("accuracy") ? 0.2 + step / 20.0 : 2.5 / step):R}")) + "}");
        }
        File.WriteAllLines(Path.Combine(dir, "metrics.jsonl"), lines);
    }

    private static readonly string[][] TaskMetrics =
    [
        ["val_loss", "val_ppl", "val_bpb"], // causal LM
        ["test_masked_accuracy", "test_masked_loss"], // masked LM
        ["test_accuracy"], // classifier
        ["val_loss"], // DiT
        [], // no evaluation
    ];

    [Test]
    public void PlotsTrainingAndValidationCurves([Range(0, 4)] int task)
    {
        using var t = new TempDir();
        WriteMetrics(t.Path, TaskMetrics[task]);
        if (task == 3) File.WriteAllText(t.File("config.json"), new DiTConfig().ToJson());
        string? png;
        try { png = LossPlot.Write(t.Path); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            Assert.Ignore("the plotting library could not load its native part: " + e.Message);
            return;
        }
        Assert.That(png, Is.EqualTo(t.File("loss.png")));
        var bytes = File.ReadAllBytes(png!);
        Assert.That(bytes.Length, Is.GreaterThan(1000));
        Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }));
    }

    [Test]
    public void NoPlotWithFewerThanTwoLossRecords()
    {
        using var t = new TempDir();
        Assert.That(LossPlot.Write(t.Path), Is.Null);
        File.WriteAllText(t.File("metrics.jsonl"), "{\"step\":1,\"loss\":2.0}\n{\"step\":1,\"val_loss\":2.1}\n");
        Assert.That(LossPlot.Write(t.Path), Is.Null);
    }

    [Test]
    public void LossNameFollowsTheRunsModel()
    {
        using var t = new TempDir();
        Assert.That(LossNames.ForRun(t.Path), Is.Null, "no config.json");
        foreach (var (json, name) in new[]
                 {
                     (new DiTConfig().ToJson(), LossNames.Diffusion),
                     (new MaskedLMConfig().ToJson(), LossNames.MaskedLM),
                     (new ImageClassifierConfig().ToJson(), LossNames.Classifier),
                     (new LightNetConfig().ToJson(), LossNames.CausalLM),
                     (new LightNetConfig { UseTpe = true }.ToJson(), LossNames.CausalLM),
                 })
        {
            File.WriteAllText(t.File("config.json"), json);
            Assert.That(LossNames.ForRun(t.Path), Is.EqualTo(name));
        }
        Assert.That(LossNames.Diffusion, Does.StartWith("MSE"));
    }
}
