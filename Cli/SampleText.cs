using LightNet.Models;
using LightNet.Models.Data;
using LightNet.Models.LightNet;

namespace LightNet.Cli;

/// <summary>
/// <c>lightnet sample text --run DIR [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--seed S]
/// [--tokenizer byte|gpt2] [--device cpu|cuda]</c>: continues a prompt with a trained causal LM.
/// </summary>
internal static class SampleText
{
    public static int Run(string[] args)
    {
        var o = new Options("sample text", args, new HashSet<string>());
        var dir = o.String("--run") ?? Path.Combine("runs", "lm");
        var prompt = o.String("--prompt") ?? DefaultPrompt;
        int tokens = o.Int("--tokens") ?? 300;
        double temperature = o.Double("--temperature") ?? 0.8;
        int? topK = o.Int("--top-k") ?? 40;
        ulong seed = (ulong)(o.Long("--seed") ?? 0);
        var tokName = o.String("--tokenizer");
        var device = DeviceOption.Resolve("sample text", o.String("--device"));
        o.RejectUnknown();
        if (temperature < 0) throw new ArgumentException($"sample text: --temperature must be ≥ 0, got {temperature}");
        var model = Checkpoint.LoadCausalLM(dir);
        model.To(device);
        var tok = TextData.TokenizerOf(model.Config.Tokenizer, tokName, dir);
        TextData.CheckVocab(tok, model.Config.VocabSize, dir);
        Console.WriteLine(Generate(model, tok, prompt, tokens, temperature, topK == 0 ? null : topK, seed));
        return 0;
    }

    /// <summary>Prompt used when none is given.</summary>
    public const string DefaultPrompt = "Mr. Speaker, Mr. Vice President, Members of Congress, ";

    /// <summary>Prompt plus <paramref name="tokens"/> generated tokens as text (an empty prompt starts a new document).</summary>
    public static string Generate(LightNetForCausalLM model, ITextTokenizer tok, string prompt, int tokens, double temperature, int? topK, ulong seed)
    {
        var ids = tok.Encode(prompt);
        long[] p = ids.Length == 0 ? [tok.EosId] : [.. ids.Select(i => (long)i)];
        var outIds = model.Generate([p], tokens, temperature, topK, seed, model.Config.MaxPositionEmbeddings)[0];
        return tok.Decode(outIds.Select(i => (int)i).ToArray());
    }
}
