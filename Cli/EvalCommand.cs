using LightNet.Models;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Cli;

/// <summary><c>lightnet eval TASK --run DIR …</c>: evaluates a trained run directory (classify, lm, mlm).</summary>
internal static class EvalCommand
{
    public static int Run(string[] args)
    {
        if (args.Length == 0) throw new ArgumentException("eval: which task? (classify, lm, mlm, generate)");
        return args[0] switch
        {
            "classify" => Classify(args[1..]),
            "lm" => EvalText.Lm(args[1..]),
            "mlm" => EvalText.Mlm(args[1..]),
            "generate" => EvalGenerate.Run(args[1..]),
            _ => throw new ArgumentException($"eval: unknown task '{args[0]}' (available: classify, lm, mlm, generate)"),
        };
    }

    /// <summary><c>lightnet eval classify --run DIR [--device cpu|cuda]</c>: test accuracy of a trained classifier.</summary>
    private static int Classify(string[] args)
    {
        var o = new Options("eval classify", args, new HashSet<string>());
        var dir = o.String("--run") ?? Path.Combine("runs", "classify");
        var device = DeviceOption.Resolve("eval classify", o.String("--device"));
        o.RejectUnknown();
        var model = ClassifierTraining.LoadRun(dir, device);
        IImageDataset test = LightNet.Models.Data.FashionMnist.LoadOrFetch(false, log: Console.Out);
        double acc = ClassifierTraining.Evaluate(model, test, 256, device);
        Console.WriteLine($"test accuracy {acc:P2} on {test.Count} Fashion-MNIST test images ({dir})");
        return 0;
    }
}
