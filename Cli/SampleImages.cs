using LightNet.Models.Data;
using LightNet.Models.Diffusion;
using LightNet.Models.Imaging;
using Spectre.Console;

namespace LightNet.Cli;

/// <summary><c>lightnet sample image --run DIR [--steps N --guidance W --eta X --per-class N --seed S --out PNG --device D]</c>: a DDIM sample grid, one row per class.</summary>
internal static class SampleImages
{
    /// <summary>Sampling flags shared by <c>sample image</c> and the grid at the end of <c>train generate</c>.</summary>
    public sealed record GridOptions(int Steps, double Guidance, double Eta, int PerClass, ulong Seed, string OutPath)
    {
        /// <summary>Reads <c>--sample-steps --guidance --eta --per-class --sample-seed --grid</c> (defaults 50, 2.0, 0, 8, 0).</summary>
        public static GridOptions Read(Options o, string defaultOut, string stepsFlag = "--sample-steps", string seedFlag = "--sample-seed", string outFlag = "--grid")
        {
            var g = new GridOptions(o.Int(stepsFlag) ?? 50, o.Double("--guidance") ?? 2.0, o.Double("--eta") ?? 0, o.Int("--per-class") ?? 8,
                (ulong)(o.Long(seedFlag) ?? 0), o.String(outFlag) ?? defaultOut);
            if (g.Steps < 1 || g.Steps > 1000) throw new ArgumentException($"sample: {stepsFlag} must be in 1..1000, got {g.Steps}");
            if (g.PerClass < 1) throw new ArgumentException($"sample: --per-class must be positive, got {g.PerClass}");
            if (!(g.Guidance >= 0) || !(g.Eta >= 0)) throw new ArgumentException($"sample: --guidance and --eta must be ≥ 0, got {g.Guidance} and {g.Eta}");
            return g;
        }
    }

    public static int Run(string[] args)
    {
        var o = new Options("sample image", args, new HashSet<string> { "--no-ema" });
        var dir = o.String("--run") ?? Path.Combine("runs", "generate");
        var device = DeviceOption.Resolve("sample image", o.String("--device"));
        if (o.Int("--threads") is int th) Parallelism.Threads = th;
        bool ema = !o.Flag("--no-ema");
        var g = GridOptions.Read(o, Path.Combine(dir, "samples.png"), "--steps", "--seed", "--out");
        o.RejectUnknown();
        WriteGrid(dir, device, g, ema);
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
