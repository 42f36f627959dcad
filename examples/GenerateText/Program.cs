using System.Globalization;
using System.Text;
using LightNet.Models;
using LightNet.Models.Data;

// Loads an fla / Hugging Face checkpoint folder (config.json + model.safetensors) and continues a prompt.
//   GenerateText <checkpoint-dir> [prompt] [--tokens N] [--temperature T] [--top-k K] [--seed S]
// Temperature 0 (the default) decodes greedily; T > 0 samples from softmax(logits / T), from the K likeliest tokens.
if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: GenerateText <checkpoint-dir> [prompt] [--tokens N] [--temperature T] [--top-k K] [--seed S]");
    return 2;
}
string dir = args[0], prompt = "Hello, ";
int tokens = 32;
double temperature = 0;
int? topK = null;
ulong seed = 0;
for (int i = 1; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--tokens": tokens = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--temperature": temperature = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--top-k": topK = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--seed": seed = ulong.Parse(Next(), CultureInfo.InvariantCulture); break;
        default: prompt = args[i]; break;
    }
}

var model = Checkpoint.LoadCausalLM(dir);
model.Eval();
Console.WriteLine($"{dir}: {model.Config.NumHiddenLayers} layers, hidden {model.Config.HiddenSize}, vocab {model.Config.VocabSize}, {model.ParameterCount:N0} parameters");

// Checkpoints this engine trained name their tokenizer (byte or gpt2) in config.json; for others (an fla
// checkpoint) the prompt goes in as UTF-8 bytes, ids 0–255, which every vocabulary of at least 256 entries can take.
ITextTokenizer? tok = model.Config.Tokenizer is { } name ? TextTokenizers.Create(name) : null;
long[] promptIds = [.. (tok ?? ByteTokenizer.Instance).Encode(prompt).Select(i => (long)i)];
long[] ids = model.Generate([promptIds], tokens, temperature, topK, seed)[0];
long[] generated = ids[promptIds.Length..];
Console.WriteLine($"ids:  {string.Join(' ', generated)}");

// Without a named tokenizer, runs of ids below 256 are decoded as UTF-8 and the other ids (and control bytes) shown as ⟨id⟩.
string text = tok != null ? tok.Decode([.. ids.Select(i => (int)i)]) : prompt + BytesOrIds(generated);
Console.WriteLine($"text: {text}");
return 0;

static string BytesOrIds(long[] ids)
{
    var sb = new StringBuilder();
    var run = new List<byte>();
    foreach (var id in ids)
    {
        if (id is >= 32 and < 256 || id == '\n') { run.Add((byte)id); continue; }
        sb.Append(Encoding.UTF8.GetString([.. run])).Append(CultureInfo.InvariantCulture, $"⟨{id}⟩");
        run.Clear();
    }
    return sb.Append(Encoding.UTF8.GetString([.. run])).ToString();
}
