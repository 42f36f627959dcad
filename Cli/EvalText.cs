using LightNet.Cli.CommandLine;
using LightNet.Models;
using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Cli;

/// <summary>
/// <c>lightnet eval lm|mlm</c>: held-out metrics of a trained text run over its non-overlapping windows (all of them
/// unless <c>--windows</c>), computed in <c>--dtype</c> (float32 by default), with progress.
/// </summary>
internal static class EvalText
{
    private sealed record Common(string Dir, int? Windows, int? SeqLen, int Batch, string? Tokenizer, Device Device, DType DType);

    private static Common Read(Args a, string task)
    {
        var device = DeviceOption.Resolve(a.Command, a.String("--device"));
        var dtype = TrainRun.ModelDType(a, device);
        var dir = RunDirs.Require(a, task);
        Console.WriteLine($"{a.Command}: loading {dir} and tokenizing the held-out text…");
        return new Common(dir, a.OptInt("--windows"), a.OptInt("--seq-len"), a.Int("--batch-size"), a.OptString("--tokenizer"), device, dtype);
    }

    private static int SeqLen(string command, int? given, int? configured, string dir) =>
        given ?? configured ?? throw new InvalidDataException($"{command}: {Path.Combine(dir, "config.json")} does not record the window length (max_position_embeddings); pass --seq-len");

    /// <summary>Validation loss (nats/token), perplexity and bits per byte of a causal LM run on SOTU ≥ 2006.</summary>
    public static int Lm(Args a)
    {
        var c = Read(a, "lm");
        var model = Checkpoint.LoadCausalLM(c.Dir, c.DType);
        model.To(c.Device);
        var tok = TextData.TokenizerOf(model.Config.Tokenizer, c.Tokenizer, c.Dir);
        TextData.CheckVocab(tok, model.Config.VocabSize, c.Dir);
        int seqLen = SeqLen("eval lm", c.SeqLen, model.Config.MaxPositionEmbeddings, c.Dir);
        var windows = new TokenWindows(TextData.Load("sotu", tok).HeldOut, seqLen);
        var idx = TextEvaluation.SpreadWindows(windows, c.Windows);
        var m = TextEvaluation.CausalMetrics(TextEvaluation.CausalLoss(model, windows, idx, c.Batch, c.Device, Progress(idx.Length)), TextData.BytesPerToken(tok));
        var bpb = m.TryGetValue("val_bpb", out var b) ? $", {b:F4} bits/byte" : "";
        Console.WriteLine($"validation loss {m["val_loss"]:F4} nats/token, perplexity {m["val_ppl"]:F3}{bpb} " +
            $"({model.Config.Mixer.Name()} mixer, {c.DType.Name()}; {idx.Length} windows of {seqLen} {tok.Name} tokens of SOTU ≥ {TextCorpus.SotuValidationFromYear}; {c.Dir})");
        return 0;
    }

    /// <summary>Masked-token accuracy of a masked LM run on the Brown test files (fixed masks).</summary>
    public static int Mlm(Args a)
    {
        var c = Read(a, "mlm");
        var cfg = MaskedLMConfig.FromJson(Checkpoint.ReadConfig(c.Dir), Path.Combine(c.Dir, "config.json"));
        var model = new LightNetForMaskedLM(cfg, new Generator(0), c.DType);
        Checkpoint.LoadWeights(c.Dir, model);
        model.To(c.Device);
        var tok = TextData.TokenizerOf(cfg.Tokenizer, c.Tokenizer, c.Dir);
        TextData.CheckVocab(tok, cfg.VocabSize, c.Dir);
        int seqLen = SeqLen("eval mlm", c.SeqLen, cfg.MaxPositionEmbeddings, c.Dir);
        var windows = new TokenWindows(TextData.Load("brown", tok).HeldOut, seqLen);
        var idx = TextEvaluation.SpreadWindows(windows, c.Windows);
        var masker = new MaskedLmBatcher(tok.TextIdCount, (int)cfg.MaskTokenId, tok.PadId, TextEvaluation.EvalMaskSeed);
        var (acc, loss, n) = TextEvaluation.MaskedAccuracy(model, windows, idx, masker, c.Batch, c.Device, Progress(idx.Length));
        Console.WriteLine($"masked-token accuracy {acc:P2} ({n} masked tokens), masked loss {loss:F4} nats " +
            $"({cfg.Mixer.Name()} mixer, {c.DType.Name()}; {idx.Length} windows of {seqLen} {tok.Name} tokens of the Brown test files; {c.Dir})");
        return 0;
    }

    private static Action<int> Progress(int windows)
    {
        var lines = new ProgressLines(windows);
        return done => lines.Report(done, "evaluating", "windows");
    }
}
