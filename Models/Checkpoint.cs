using LightNet.Models.LightNet;
using LightNet.Models.Nn;

namespace LightNet.Models;

/// <summary>
/// Hugging Face style checkpoint directories: <c>model.safetensors</c> (float32 weights under the module's
/// parameter names, metadata <c>{"format": "pt"}</c>, fixed tensor order, no timestamps) and <c>config.json</c>.
/// Both files are written atomically (temporary file, then rename).
/// </summary>
public static class Checkpoint
{
    /// <summary>Writes the module's weights (as float32) and the config JSON into <paramref name="dir"/>.</summary>
    public static void Save(string dir, Module model, string configJson)
    {
        Directory.CreateDirectory(dir);
        var named = model.NamedParameters().ToList();
        SaveWeights(Path.Combine(dir, "model.safetensors"), named.Select(p => p.Name), named.Select(p => p.Param.Data));
        global::LightNet.IO.DurableFile.WriteAtomic(Path.Combine(dir, "config.json"), configJson);
    }

    /// <summary>Writes named tensors as float32 on the CPU into one safetensors file (metadata <c>{"format": "pt"}</c>, atomic).</summary>
    public static void SaveWeights(string path, IEnumerable<string> names, IEnumerable<Tensor> values)
    {
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, t) in names.Zip(values))
            {
                using var f32 = t.To(DType.Float32);
                weights[name] = f32.To(Device.Cpu);
            }
            SafetensorsFile.Save(path, weights, new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <summary>Loads weights from <c>model.safetensors</c> (or another file of the directory) into a module (strict names and shapes).</summary>
    public static void LoadWeights(string dir, Module model, string fileName = "model.safetensors")
    {
        var path = Path.Combine(dir, fileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint: {path} does not exist", path);
        using var f = SafetensorsFile.Open(path);
        var all = f.LoadAll();
        try { model.LoadStateDict(all); }
        finally { foreach (var t in all.Values) t.Dispose(); }
    }

    /// <summary>Reads <c>config.json</c> of a checkpoint directory.</summary>
    public static string ReadConfig(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint: {path} does not exist", path);
        return File.ReadAllText(path);
    }

    /// <summary>Loads a causal LM checkpoint (fla / Hugging Face or one this engine wrote).</summary>
    public static LightNetForCausalLM LoadCausalLM(string dir, DType dtype = DType.Float32)
    {
        var cfgText = ReadConfig(dir);
        var cfg = LightNetConfig.FromJson(cfgText, Path.Combine(dir, "config.json"));
        var model = new LightNetForCausalLM(cfg, new Generator(0), dtype);
        LoadWeights(dir, model);
        return model;
    }
}
