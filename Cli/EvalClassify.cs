using LightNet.Cli.CommandLine;
using LightNet.Models.Training;

namespace LightNet.Cli;

/// <summary><c>lightnet eval classify</c>: test accuracy of a trained classifier run on Fashion-MNIST.</summary>
internal static class EvalClassify
{
    public static int Run(Args a)
    {
        var dir = RunDirs.Require(a, "classify");
        var device = DeviceOption.Resolve(a.Command, a.String("--device"));
        var model = ClassifierTraining.LoadRun(dir, device);
        IImageDataset test = LightNet.Models.Data.FashionMnist.LoadOrFetch(false, log: Console.Out);
        double acc = ClassifierTraining.Evaluate(model, test, a.Int("--batch-size"), device);
        Console.WriteLine($"test accuracy {acc:P2} on {test.Count} Fashion-MNIST test images ({dir})");
        return 0;
    }
}
