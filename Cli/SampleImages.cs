using LightNet.Cli.CommandLine;
using LightNet.Models.Data;
using LightNet.Models.Diffusion;
using LightNet.Models.Imaging;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary><c>lightnet sample image</c>: a DDIM sample grid of a DiT run, one row per class, written to a new file (never over the run's own grid).</summary>
internal static class SampleImages
{
    /// <summary>Sampling flags shared by <c>sample image</c> and the grid at the end of <c>train generate</c>.</summary>
    public sealed record GridOptions(int Steps, double Guidance, double Eta, int PerClass, ulong Seed, string OutPath)
    {
        /// <summary>Reads the grid flags (<c>--sample-steps --guidance --eta --per-class --sample-seed --grid</c> in <c>train generate</c>; <c>--steps … --seed --out</c> in <c>sample image</c>).</summary>
        public static GridOptions Read(Args a, string outPath, string stepsFlag, string seedFlag, string outFlag) =>
            new(a.Int(stepsFlag), a.Double("--guidance"), a.Double("--eta"), a.Int("--per-class"), a.Seed(seedFlag), a.OptString(outFlag) ?? outPath);
    }

    public static int Run(Args a)
    {
        var dir = RunDirs.Require(a, "generate");
        var device = DeviceOption.Resolve(a.Command, a.String("--device"));
        var g = GridOptions.Read(a, "", "--steps", "--seed", "--out");
        g = g with { OutPath = RunDirs.Output(a, dir, a.OptString("--out"), "sample", "png") };
        WriteGrid(dir, device, g, ema: !a.Flag("--no-ema"));
        return 0;
    }

    /// <summary>Samples the grid of a run directory (EMA weights unless <paramref name="ema"/> is false) and writes it as a PNG.</summary>
    public static void WriteGrid(string dir, Device device, GridOptions g, bool ema = true)
    {
        var model = ImageSampling.LoadRun(dir, device, ema);
        var cfg = model.Config;
        if (cfg.InChannels != 1) throw new ArgumentException($"sample image: the grid writer handles one channel; the model has {cfg.InChannels}");
        var sampler = ImageSampling.Sampler(model, g.Steps, g.Guidance, g.Eta);
        var labels = ImageSampling.ClassRows(cfg.NumClasses, g.PerClass);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var images = ImageSampling.Sample(model, device, sampler, labels, g.Seed);
        var (px, w, h) = ImageGrid.Tile(images, cfg.ImageHeight, cfg.ImageWidth, g.PerClass);
        PngEncoder.WriteGray(g.OutPath, px, w, h);
        var rows = cfg.NumClasses == FashionMnist.ClassNames.Count ? $" (rows: {string.Join(", ", FashionMnist.ClassNames)})" : "";
        AnsiConsole.MarkupLine($"samples: {Markup.Escape(g.OutPath)}: {labels.Length} images, DDIM {g.Steps} steps, guidance {g.Guidance}, η {g.Eta}, " +
            $"{sw.Elapsed.TotalSeconds:F1} s{Markup.Escape(rows)}");
    }
}
