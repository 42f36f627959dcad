namespace LightNet.Cli;

/// <summary>Entry point of the <c>lightnet</c> command.</summary>
public static class Program
{
    /// <summary>Dispatches to a sub-command.</summary>
    public static int Main(string[] args)
    {
        try
        {
            return args.Length == 0 ? Demo.Run([]) : args[0] switch
            {
                "demo" => Demo.Run(args[1..]),
                "golden" => Golden.GoldenCommand.Run(args[1..], Console.Out, Console.Error),
                "data" => DataCommand.Run(args[1..], Console.Out, Console.Error),
                "bench" => BenchCommand.Run(args[1..]),
                "train" => Launcher.TryLaunch(args) ?? TrainCommand.Run(args[1..]),
                "eval" => EvalCommand.Run(args[1..]),
                "sample" => SampleCommand.Run(args[1..]),
                "--help" or "-h" or "help" => Help(),
                _ => Unknown(args[0]),
            };
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or InvalidDataException)
        {
            Console.Error.WriteLine($"lightnet: {e.Message}");
            return 2;
        }
    }

    private static int Help()
    {
        Console.WriteLine("""
            lightnet — LightNet ("You Only Scan Once") on a from-scratch C# engine

            usage:
              lightnet demo [--steps N] [--threads N]   train a tiny MLP with the engine's autograd on the CPU
              lightnet golden <file.safetensors> [--dtype float32|float64] [--device cpu|cuda]
                                                       run a golden reference file and compare every output and gradient
              lightnet data fetch [fashion-mnist|sotu|moby-dick|brown|all] [--dir DIR]
                                                       download and verify data sets into the cache folder
                                                       ($LIGHTNET_DATA_DIR, else <repo>/data-cache, else ~/.cache/lightnet)
              lightnet train classify [--steps N|--epochs N] [--stop-after N] [--batch-size N] [--lr X] [--seed N]
                                      [--device cpu|cuda] [--out DIR] [--resume] [--hidden N] [--layers N] [--heads N] [--patch N]
                                                       LightNet on Fashion-MNIST (fetches the data), with checkpoints and resume
                                      data parallel: [--gpus N | --procs N] [--nodes M --node-rank K --master-addr HOST --master-port P]
                                                       one process per GPU (NCCL) or per CPU share; --batch-size is the global batch
              lightnet train lm [--mixer lightnet|gla|softmax] [--tpe on|off] [--lrpe on|off] [--tokenizer byte|gpt2] [--hidden N] [--layers N]
                                [--heads N] [--seq-len N] [--eval-windows N] [--prompt TEXT] [--sample-tokens N] + the common train flags
                                                       causal LM on State of the Union (validation: 2006 on), prints a sample
              lightnet train mlm [--mixer lightnet|gla] [--tokenizer byte|gpt2] [--hidden N] [--layers N] [--heads N] [--seq-len N]
                                                       masked LM on the Brown corpus, masked-token accuracy on its test files
              lightnet train generate [common flags] [--hidden N] [--layers N] [--heads N] [--patch N] [--label-drop P] [--ema D]
                                      [--sample-steps N] [--guidance W] [--per-class N] [--grid PNG]
                                                       class-conditional DDPM of the LightNet DiT on Fashion-MNIST, then a sample grid
              lightnet eval classify [--run DIR] [--device cpu|cuda]   test accuracy of a trained run
              lightnet eval lm|mlm [--run DIR] [--windows N] [--seq-len N] [--device cpu|cuda]
                                                       validation loss/perplexity/bits per byte, or masked-token accuracy
              lightnet eval generate [--run DIR] [--classifier DIR] [--samples N] [--steps N] [--guidance W] [--seed S]
                                                       classifier accuracy on DiT samples, Fréchet distance (classifier features)
              lightnet sample text [--run DIR] [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--seed S]
                                                       continue a prompt with a trained causal LM
              lightnet sample image [--run DIR] [--steps N] [--guidance W] [--eta X] [--per-class N] [--seed S] [--out PNG]
                                                       DDIM sample grid of a DiT run (one row per class)
              lightnet bench [lm|classifier] [--steps N] [--device cpu|cuda]
                                                       training-step throughput with a per-kernel time profile
            """);
        return 0;
    }

    private static int Unknown(string cmd)
    {
        Console.Error.WriteLine($"lightnet: unknown command '{cmd}' (try 'lightnet help')");
        return 2;
    }
}
