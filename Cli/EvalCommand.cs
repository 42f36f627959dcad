using LightNet.Models;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Cli;

/// <summary><c>lightnet eval classify --run DIR [--device cpu|cuda]</c>: test accuracy of a trained classifier run directory.</summary>
internal static class EvalCommand
{
    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] != "classify") throw new ArgumentException("eval: which task? (classify)");
        var o = new Options("eval classify", args[1..], new HashSet<string>());
        var dir = o.String("--run") ?? Path.Combine("runs", "classify");
        var device = DeviceOption.Resolve("eval classify", o.String("--device"));
        o.RejectUnknown();
        var cfg = ImageClassifierConfig.FromJson(Checkpoint.ReadConfig(dir), Path.Combine(dir, "config.json"));
        var model = new LightNetForImageClassification(cfg, new Generator(0));
        Checkpoint.LoadWeights(dir, model);
        model.To(device);
        IImageDataset test = LightNet.Models.Data.FashionMnist.LoadOrFetch(false, log: Console.Out);
        double acc = ClassifierTraining.Evaluate(model, test, 256, device);
        Console.WriteLine($"test accuracy {acc:P2} on {test.Count} Fashion-MNIST test images ({dir})");
        return 0;
    }
}
