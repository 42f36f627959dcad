using System.Diagnostics;
using System.Text.Json;
using LightNet.Cli.CommandLine;
using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Cli;

/// <summary>
/// <c>lightnet eval video</c>: test accuracy of a trained video run on the first <c>--clips</c> Moving Fashion-MNIST test
/// clips, generated with the run's settings (frames and size from config.json; garments, max speed and data seed from
/// training_config.json, the seed overridable with <c>--data-seed</c>).
/// </summary>
internal static class EvalVideo
{
    public static int Run(Args a)
    {
        var dir = RunDirs.Require(a, "video");
        var device = DeviceOption.Resolve(a.Command, a.String("--device"));
        var model = VideoTraining.LoadRun(dir, device);
        var rec = TrainingConfigFile.Read(dir);
        int Recorded(string key, int dflt) => rec != null && rec.TryGetValue(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : dflt;
        ulong seed = a.OptLong("--data-seed") is long s ? (ulong)s
            : rec != null && rec.TryGetValue("data_seed", out var ds) && ds.ValueKind == JsonValueKind.Number ? ds.GetUInt64() : 0;
        var cfg = model.Config;
        if (cfg.ImageHeight != cfg.ImageWidth) throw a.Error($"{dir}: the clips are square; the run's frames are {cfg.ImageHeight}×{cfg.ImageWidth}");
        var options = new MovingFashionMnistOptions(cfg.NumFrames, cfg.ImageHeight, Recorded("garments", 1), Recorded("max_speed", 3), seed);
        var test = MovingFashionMnist.From(FashionMnist.LoadOrFetch(false, log: Console.Out), options);
        int clips = a.Int("--clips");
        if (clips > test.Count) throw a.Error($"--clips {clips} exceeds the {test.Count} test clips");
        var sw = Stopwatch.StartNew();
        var (acc, _, _) = VideoTraining.Evaluate(model, test, clips, a.Int("--batch-size"), device);
        Console.WriteLine($"test accuracy {acc:P2} on the first {clips} of {test.Count} Moving Fashion-MNIST test clips " +
            $"({options.Frames}×{options.Size}×{options.Size}, {options.Garments} garment{(options.Garments > 1 ? "s" : "")}, data seed {seed}; " +
            $"{cfg.Mixer.Name()} mixer, {sw.Elapsed.TotalSeconds:F1} s) ({dir})");
        return 0;
    }
}
