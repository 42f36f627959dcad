using LightNet.Cli.CommandLine;
using LightNet.Models;
using LightNet.Models.Data;
using LightNet.Models.LightNet;

namespace LightNet.Cli;

/// <summary><c>lightnet sample text</c>: continues a prompt with a trained causal LM (printed, nothing written).</summary>
internal static class SampleText
{
    public static int Run(Args a)
    {
        var dir = RunDirs.Require(a, "lm");
        var device = DeviceOption.Resolve(a.Command, a.String("--device"));
        var model = Checkpoint.LoadCausalLM(dir);
        model.To(device);
        var tok = TextData.TokenizerOf(model.Config.Tokenizer, a.OptString("--tokenizer"), dir);
        TextData.CheckVocab(tok, model.Config.VocabSize, dir);
        int topK = a.Int("--top-k");
        Console.WriteLine(Generate(model, tok, a.String("--prompt"), a.Int("--tokens"), a.Double("--temperature"), topK == 0 ? null : topK, a.Seed()));
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
