using LightNet.Models;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Cli;

/// <summary><c>lightnet eval classify --run DIR [--device cpu|cuda]</c>: test accuracy of a trained classifier run directory.</summary>
internal static class EvalCommand
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "generate") return EvalGenerate.Run(args[1..]);
        if (args.Length == 0 || args[0] != "classify") throw new ArgumentException("eval: which task? (classify, generate)");
        var o = new Options("eval classify", args[1..], new HashSet<string>());
        var dir = o.String("--run") ?? Path.Combine("runs", "classify");
        var device = Device.Parse(o.String("--device") ?? "cpu");
        o.RejectUnknown();
        var model = ClassifierTraining.LoadRun(dir, device);
        IImageDataset test = LightNet.Models.Data.FashionMnist.LoadOrFetch(false, log: Console.Out);
        double acc = ClassifierTraining.Evaluate(model, test, 256, device);
        Console.WriteLine($"test accuracy {acc:P2} on {test.Count} Fashion-MNIST test images ({dir})");
        return 0;
    }
}
