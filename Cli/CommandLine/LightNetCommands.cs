using System.CommandLine;
using LightNet.Models.Data;
using static LightNet.Cli.CommandLine.Flags;

namespace LightNet.Cli.CommandLine;

/// <summary>
/// Every <c>lightnet</c> command and flag, with defaults, value checks and help text: the one definition the parser, the
/// help output, the recorded training configuration and the tests read.
/// </summary>
internal sealed class LightNetCommands(string[] args)
{
    /// <summary>Defaults a training task chooses for the shared flags.</summary>
    private sealed record TrainDefaults(string Task, long Steps, int BatchSize, double Lr, double WeightDecay, bool HasEpochs, string Evaluations, double? Ema = null);

    /// <summary>The whole command tree for <paramref name="args"/> (a command line; kept for data-parallel relaunches).</summary>
    public static RootCommand Build(string[] args) => new LightNetCommands(args).Root();

    private RootCommand Root()
    {
        var root = new RootCommand("LightNet (\"You Only Scan Once\") on a from-scratch C# engine: train, evaluate and sample the paper's models, check golden files, benchmark.");
        root.Subcommands.Add(Train());
        root.Subcommands.Add(Eval());
        root.Subcommands.Add(Sample());
        root.Subcommands.Add(Export());
        root.Subcommands.Add(Golden());
        root.Subcommands.Add(Data());
        root.Subcommands.Add(Bench());
        root.Subcommands.Add(Demo());
        return root;
    }

    private Args ArgsOf(ParseResult p, string path) => new(p, path, args);

    private Command Leaf(string name, string description, string path, Func<Args, int> run, params Option[] options)
    {
        var c = new Command(name, description);
        foreach (var o in options) c.Options.Add(o);
        c.SetAction(p =>
        {
            var a = ArgsOf(p, path);
            // Every command that offers --threads applies it here, before its work starts.
            if (options.Any(o => o.Name == "--threads") && a.OptInt("--threads") is int th) Parallelism.Threads = th;
            return run(a);
        });
        return c;
    }

    private Command Group(string name, string description, params Command[] children)
    {
        var c = new Command(name, description);
        foreach (var s in children) c.Subcommands.Add(s);
        return c;
    }

    // ---- train ----

    private Command Train() => Group("train", "train a model; each run directory holds training_config.json, config.json, metrics.jsonl, loss.png, model.safetensors and a resumable checkpoint/",
        TrainTask("classify", "LightNet image classifier on Fashion-MNIST (fetches the data)", TrainClassify.Run,
            new TrainDefaults("classify", 2800, 64, 2e-3, 0.05, HasEpochs: true, "at the end only"),
            Int("--patch", "patch size (divides 28)", 4), Int("--hidden", "hidden size", 64), Int("--layers", "blocks", 4),
            Int("--heads", "attention heads", 2), Int("--gate-rank", "low rank of the output gate", 16), GridMixer()),
        TrainTask("lm", "causal LM on the State of the Union addresses (validation: 2006 on); prints a sample", TrainLm.Run,
            new TrainDefaults("lm", 1000, 8, 2e-3, 0.1, HasEpochs: false, "steps/5"),
            Choice("--mixer", "sequence mixer: LightNet's one scan, the GLA baseline or softmax attention", "lightnet", "lightnet", "gla", "softmax"),
            OnOff("--tpe", "MD-TPE after the embedding (default: on for the lightnet mixer)"),
            OnOff("--lrpe", "MD-LRPE in the attention (default: on for the lightnet mixer)"),
            Tokenizer(), DType(),
            Int("--seq-len", "tokens per training window", 256, min: 2), Int("--hidden", "hidden size", 128), Int("--layers", "blocks", 4),
            Int("--heads", "attention heads (divides --hidden)", 4), Int("--gate-rank", "low rank of the output gate", 32),
            Int("--eval-windows", "validation windows per evaluation", 64),
            Int("--sample-tokens", "tokens of the sample printed at the end (0: none)", 300, min: 0).FreeOnResume(),
            String("--prompt", "prompt of the sample printed at the end", SampleText.DefaultPrompt, "TEXT").FreeOnResume()),
        TrainTask("mlm", "masked LM on the Brown corpus; masked-token accuracy on its test files", TrainMlm.Run,
            new TrainDefaults("mlm", 1000, 16, 2e-3, 0.1, HasEpochs: false, "steps/4"),
            Choice("--mixer", "sequence mixer: LightNet's one scan or the two-scan GLA baseline", "lightnet", "lightnet", "gla"),
            OnOff("--tpe", "1-D MD-TPE after the embedding (default: on, for both mixers)"),
            OnOff("--lrpe", "1-D MD-LRPE in the attention, lightnet mixer only (default: on for it)"),
            Int("--rpe-dim", "width of the MD-TPE relative-position MLP", 32),
            Tokenizer(), DType(),
            Int("--seq-len", "tokens per training window", 128), Int("--hidden", "hidden size", 128), Int("--layers", "blocks", 4),
            Int("--heads", "attention heads (divides --hidden)", 4), Int("--gate-rank", "low rank of the output gate", 32),
            Int("--eval-windows", "test windows per evaluation", 128)),
        TrainTask("generate", "class-conditional DDPM of the LightNet DiT on Fashion-MNIST, then a sample grid", TrainGenerate.Run,
            new TrainDefaults("generate", 1800, 64, 1.5e-3, 0, HasEpochs: true, "at the end only", Ema: 0.998),
            [Int("--patch", "patch size (divides 28)", 4), Int("--hidden", "hidden size", 64), Int("--layers", "blocks", 4),
            Int("--heads", "attention heads", 2), Int("--gate-rank", "low rank of the output gate", 16),
            Double("--label-drop", "probability of dropping the class label (classifier-free guidance)", 0.1, 0, 1), GridMixer(),
            .. GridOptions("--sample-steps", "--sample-seed", "--grid", "grid PNG written at the end (default: RUN/samples.png)").Select(o => o.FreeOnResume())]),
        TrainTask("video", "video classifier (3-D tubelet grid) on Moving Fashion-MNIST clips generated from the Fashion-MNIST images (fetches them)", TrainVideo.Run,
            new TrainDefaults("video", 1000, 8, 2e-3, 0.05, HasEpochs: true, "at the end only"),
            [GridMixer("6 directional scans"),
            OnOff("--tpe", "3-D MD-TPE after the tubelet embedding (default: on for the lightnet mixer)"),
            OnOff("--lrpe", "3-D MD-LRPE in the attention, lightnet mixer only (default: on for it)"),
            .. VideoDataOptions(),
            Int("--tubelet", "frames per tubelet (divides --frames)", 2), Int("--patch", "tubelet side in pixels (divides --size)", 8),
            Int("--hidden", "hidden size", 64), Int("--layers", "blocks", 2), Int("--heads", "attention heads (divides --hidden)", 2),
            Int("--gate-rank", "low rank of the output gate", 16),
            Int("--eval-clips", "test clips scored at the end: the first N of the 10,000 (10000: all)", 1000).FreeOnResume()]));

    /// <summary><c>--mixer</c> of the grid tasks (images, video): LightNet or a baseline on the token grid.</summary>
    private static Option<string> GridMixer(string glaScans = "4 directional scans") =>
        Choice("--mixer", $"token mixer on the patch grid: LightNet's one scan (with MD-TPE and MD-LRPE), the GLA baseline's {glaScans} or full softmax attention with rotary positions (both without MD-TPE/MD-LRPE)",
            "lightnet", "lightnet", "gla", "softmax");

    /// <summary>The Moving Fashion-MNIST generator's flags (<c>train video</c>; <c>eval video</c> reads the run's).</summary>
    private static Option[] VideoDataOptions() =>
    [
        Int("--frames", "frames per clip", 16), Int("--size", "frame side in pixels (at least 28 + --max-speed)", 64),
        Int("--garments", "garments per clip: 1, or 2 with a half-bright distractor of another class (the label is the bright one's)", 1),
        Int("--max-speed", "largest speed per axis in pixels per frame", 3),
        Seed("--data-seed", "seed of the clip generator (trajectories)"),
    ];

    private Command TrainTask(string name, string description, Func<Args, int> run, TrainDefaults d, params Option[] own)
    {
        Option[] common =
        [
            Long("--steps", "optimizer steps (sets the schedule)", d.Steps),
            .. d.HasEpochs ? new Option[] { OptLong("--epochs", "passes over the training set instead of --steps") } : [],
            OptLong("--stop-after", "stop after this many steps as if interrupted (resume with --resume)").FreeOnResume(),
            Int("--batch-size", "items per step (the global batch when data parallel)", d.BatchSize),
            Int("--grad-accum", "micro-batches accumulated into one step", 1),
            Double("--lr", "peak learning rate", d.Lr, 0, openMin: true),
            OptLong("--warmup", "linear warm-up steps (0: none; default: min(200, steps/10))", min: 0),
            Double("--weight-decay", "AdamW decoupled weight decay", d.WeightDecay, 0),
            Double("--clip", "global gradient-norm clip (≤ 0: off)", 1.0),
            d.Ema is double ema ? Double("--ema", "decay of the weight EMA (with warm-up)", ema, 0, 1, openMax: true)
                : OptDouble("--ema", "decay of an EMA of the weights, saved as model_ema.safetensors (default: none)", 0, 1, openMax: true),
            Seed(),
            Device(),
            String("--out", "run directory", Path.Combine("runs", d.Task), "DIR").FreeOnResume(),
            Switch("--resume", "continue the run in --out from its checkpoint, with its recorded configuration").FreeOnResume(),
            Switch("--detect-anomaly", "check every op's output and gradient for NaN/∞ and name the first (slow)").FreeOnResume(),
            Int("--checkpoint-every", "steps between checkpoints", 100).FreeOnResume(),
            OptInt("--eval-every", $"steps between evaluations (default: {d.Evaluations})").FreeOnResume(),
            Threads(),
            Int("--gpus", "data parallel: one process per GPU (NCCL; 0: none)", 0, min: 0).FreeOnResume(),
            Int("--procs", "data parallel: CPU processes (TCP collective; 0: one process)", 0, min: 0).FreeOnResume(),
            Int("--nodes", "data parallel: machines in the job", 1).FreeOnResume(),
            Int("--node-rank", "data parallel: this machine's index", 0, min: 0).FreeOnResume(),
            String("--master-addr", "data parallel: address of rank 0", "127.0.0.1", "HOST").FreeOnResume(),
            OptInt("--master-port", "data parallel: port of rank 0 (default: a free one, single node)", 1, 65535).FreeOnResume(),
        ];
        // A data-parallel command line starts its ranks here; each rank (and a single process) runs the task.
        return Leaf(name, description, "train " + name, a => Launcher.TryLaunch(a, a.Raw) ?? run(a), [.. own, .. common]);
    }

    private static Option<string> Tokenizer() =>
        String("--tokenizer", "tokenizer: byte, gpt2 or a Hugging Face tokenizer.json", "byte", "byte|gpt2|FILE");

    /// <summary>The DDIM grid flags of <c>train generate</c> (end-of-run grid) and <c>sample image</c>.</summary>
    private static Option[] GridOptions(string stepsFlag, string seedFlag, string outFlag, string outDescription) =>
    [
        Int(stepsFlag, "DDIM steps", 50), Double("--guidance", "classifier-free guidance scale", 2.0, 0),
        Double("--eta", "DDIM η (0: deterministic)", 0, 0), Int("--per-class", "images per class (one row each)", 8),
        Seed(seedFlag, "seed of the sampling noise"), OptString(outFlag, outDescription, "PNG"),
    ];

    // ---- eval ----

    private Command Eval() => Group("eval", "evaluate a trained run directory",
        Leaf("classify", "test accuracy of a classifier run on Fashion-MNIST", "eval classify", EvalClassify.Run,
            RunDir("classify"), Device(), Threads(), Int("--batch-size", "images per batch", 256)),
        Leaf("lm", "validation loss, perplexity and bits per byte of a causal LM run (SOTU ≥ 2006)", "eval lm", EvalText.Lm, TextEvalOptions("lm")),
        Leaf("mlm", "masked-token accuracy of a masked LM run on the Brown test files", "eval mlm", EvalText.Mlm, TextEvalOptions("mlm")),
        Leaf("generate", "classifier accuracy on DiT samples and Fréchet distances on classifier features", "eval generate", EvalGenerate.Run,
            RunDir("generate"), String("--classifier", "classifier run whose features and predictions are used", Path.Combine("runs", "classify"), "DIR"),
            Device(), Threads(), Int("--samples", "samples drawn", 5000), Int("--steps", "DDIM steps", 50),
            Double("--guidance", "classifier-free guidance scale", 5.0, 0), Double("--eta", "DDIM η", 0, 0), Seed(), Switch("--no-ema", "use the raw weights instead of the EMA")),
        Leaf("video", "test accuracy of a video run on Moving Fashion-MNIST test clips (generated as the run's training clips were)", "eval video", EvalVideo.Run,
            RunDir("video"), Device(), Threads(), Int("--batch-size", "clips per batch", 32),
            Int("--clips", "test clips scored: the first N of the 10,000 (10000: all)", 1000),
            OptLong("--data-seed", "seed of the clip generator (default: the run's)", min: 0)));

    private static Option<string> RunDir(string task) => String("--run", "run directory", Path.Combine("runs", task), "DIR");

    private static Option[] TextEvalOptions(string task) =>
    [
        RunDir(task), OptInt("--windows", "windows evaluated, spread over the split (default: all)"),
        OptInt("--seq-len", "window length (default: the run's)"), Int("--batch-size", "windows per batch", 16),
        OptString("--tokenizer", "tokenizer override (default: the run's)", "byte|gpt2|FILE"), Device(),
        Choice("--dtype", "dtype the evaluation computes in", "float32", "float32", "float64", "bfloat16"), Threads(),
    ];

    // ---- sample ----

    private Command Sample() => Group("sample", "sample from a trained run (writes only new files, never the run's own)",
        Leaf("text", "continue a prompt with a causal LM run", "sample text", SampleText.Run,
            RunDir("lm"), Threads(), String("--prompt", "prompt", SampleText.DefaultPrompt, "TEXT"), Int("--tokens", "tokens to generate (0: print the prompt only)", 300, min: 0),
            Double("--temperature", "sampling temperature (0: greedy)", 0.8, 0), Int("--top-k", "sample among the k likeliest (0: all)", 40, min: 0),
            Seed(), OptString("--tokenizer", "tokenizer override (default: the run's)", "byte|gpt2|FILE"), Device()),
        Leaf("image", "DDIM sample grid of a DiT run, one row per class", "sample image", SampleImages.Run,
            [RunDir("generate"), Device(), Threads(), Switch("--no-ema", "use the raw weights instead of the EMA"),
            .. GridOptions("--steps", "--seed", "--out", "output PNG (default: a new RUN/sample-N.png)")]));

    // ---- export ----

    private Command Export()
    {
        var output = OptString("--out", "folder for the fla checkpoint (config.json + model.safetensors)", "DIR");
        output.Required = true;
        return Group("export", "write a run's model in another framework's format",
            Leaf("fla", "fla's LightNetForCausalLM checkpoint (F32, fla's names and config) of a causal LM that fla computes; refuses MD-TPE/MD-LRPE/baseline mixers by name",
                "export fla", ExportFla.Run, RunDir("lm"), output, String("--weights", "weights file of the run to export (e.g. model_ema.safetensors)", "model.safetensors", "FILE")));
    }

    // ---- tools ----

    private Command Golden()
    {
        var file = new Argument<string>("file") { Description = "golden reference file (.safetensors)" };
        var c = new Command("golden", "run a golden reference file and compare every output and gradient (exit 0 on PASS, 1 on FAIL)");
        c.Arguments.Add(file);
        c.Options.Add(Choice("--dtype", "dtype of the run", "float32", "float32", "float64"));
        c.Options.Add(Device());
        c.SetAction(p => Cli.Golden.GoldenCommand.Run(ArgsOf(p, "golden"), p.InvocationConfiguration.Output));
        return c;
    }

    private Command Data()
    {
        var what = new Argument<string>("dataset") { Description = "data set to fetch", DefaultValueFactory = _ => "all" };
        what.AcceptOnlyFromAmong(["all", "fashion-mnist", .. TextCorpus.Names]);
        var fetch = new Command("fetch", "download and verify data sets into the cache folder ($LIGHTNET_DATA_DIR, else <repo>/data-cache, else ~/.cache/lightnet); needs apt-get + dpkg-deb (Fashion-MNIST) and npm (text corpora)");
        fetch.Arguments.Add(what);
        fetch.Options.Add(OptString("--dir", "cache folder", "DIR"));
        fetch.SetAction(p => DataCommand.Run(ArgsOf(p, "data fetch"), p.GetValue(what)!, p.InvocationConfiguration.Output));
        return Group("data", "data sets", fetch);
    }

    private Command Bench()
    {
        var what = new Argument<string>("workload") { Description = "workload", DefaultValueFactory = _ => "lm" };
        what.AcceptOnlyFromAmong("lm", "classifier", "fmnist");
        var c = new Command("bench", "training-step throughput of a reference configuration with a per-kernel profile");
        c.Arguments.Add(what);
        c.Options.Add(Int("--steps", "timed steps", 3));
        c.Options.Add(Device());
        c.SetAction(p => BenchCommand.Run(ArgsOf(p, "bench"), p.GetValue(what)!));
        return c;
    }

    private Command Demo() => Leaf("demo", "train a tiny MLP with the engine's autograd on the CPU", "demo", Cli.Demo.Run,
        Int("--steps", "SGD steps", 200), Threads());
}
