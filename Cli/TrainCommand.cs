namespace LightNet.Cli;

/// <summary><c>lightnet train TASK …</c>: dispatches to the training tasks.</summary>
internal static class TrainCommand
{
    public static int Run(string[] args)
    {
        if (args.Length == 0) throw new ArgumentException("train: which task? (classify, lm, mlm, generate)");
        return args[0] switch
        {
            "classify" => TrainClassify.Run(args[1..]),
            "lm" => TrainLm.Run(args[1..]),
            "mlm" => TrainMlm.Run(args[1..]),
            "generate" => TrainGenerate.Run(args[1..]),
            _ => throw new ArgumentException($"train: unknown task '{args[0]}' (available: classify, lm, mlm, generate)"),
        };
    }
}
