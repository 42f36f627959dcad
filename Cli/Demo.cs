using System.Diagnostics;
using LightNet.Autograd;
using LightNet.Cli.CommandLine;

namespace LightNet.Cli;

/// <summary>A short CPU run: a two-layer MLP learns a synthetic classification task with SGD.</summary>
internal static class Demo
{
    public static int Run(Args a)
    {
        int steps = a.Int("--steps");
        var gen = new Generator(7);
        const int n = 512, d = 32, h = 128, classes = 4;
        using var x = Tensor.RandN([n, d], gen);
        using var proj = Tensor.RandN([d, classes], gen);
        using var scores = Tensor.Matmul(x, proj);
        using var labels = scores.ArgMax(1);
        var w1 = new Variable(Tensor.RandN([d, h], gen, std: 1 / Math.Sqrt(d)), requiresGrad: true, name: "w1");
        var w2 = new Variable(Tensor.RandN([h, classes], gen, std: 1 / Math.Sqrt(h)), requiresGrad: true, name: "w2");
        var sw = Stopwatch.StartNew();
        double loss = 0;
        for (int step = 1; step <= steps; step++)
        {
            using var scope = DisposalScope.Begin();
            var logits = Variable.Matmul(Variable.Matmul(new Variable(x), w1).Silu(), w2);
            var l = Variable.CrossEntropy(logits, labels);
            l.Backward();
            loss = l.Data.Item();
            foreach (var w in new[] { w1, w2 })
            {
                using var upd = w.Grad! * 0.5;
                w.Data.BinaryInPlace(BinaryOp.Sub, upd);
                w.ZeroGrad();
            }
            if (step % 50 == 0 || step == 1)
            {
                using var pred = logits.Data.ArgMax(1);
                double acc = pred.ToArray<long>().Zip(labels.ToArray<long>()).Count(p => p.First == p.Second) / (double)n;
                Console.WriteLine($"step {step,4}  loss {loss:F4}  train accuracy {acc:P1}  ({sw.Elapsed.TotalSeconds:F1} s)");
            }
        }
        w1.Dispose();
        w2.Dispose();
        Console.WriteLine($"done: {steps} steps, final loss {loss:F4}, live tensors {MemoryStats.LiveTensors}");
        return 0;
    }
}
