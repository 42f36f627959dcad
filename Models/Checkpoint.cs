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

    /// <summary>Writes named tensors as float32 on the CPU into one safetensors file (metadata <c>{"format": "pt"}</c> plus <paramref name="metadata"/>, atomic).</summary>
    public static void SaveWeights(string path, IEnumerable<string> names, IEnumerable<Tensor> values, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, t) in names.Zip(values))
            {
                using var f32 = t.To(DType.Float32);
                weights[name] = f32.To(Device.Cpu);
            }
            var meta = new Dictionary<string, string> { ["format"] = "pt" };
            foreach (var (k, v) in metadata ?? new Dictionary<string, string>()) meta[k] = v;
            SafetensorsFile.Save(path, weights, meta);
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

    /// <summary>
    /// Writes a causal LM run directory (its config.json and weights) in fla's exact form into <paramref name="outDir"/>:
    /// <c>config.json</c> with fla's fields (<see cref="LightNetConfig.ToFlaJson"/>, <c>model_type: "lightnet"</c>)
    /// and <c>model.safetensors</c> in float32 under fla's names (bfloat16 or float64 weights are converted), so
    /// fla's <c>LightNetForCausalLM</c> loads it and computes the same logits. <paramref name="weightsFile"/> picks
    /// the weights of <paramref name="runDir"/> (e.g. <c>model_ema.safetensors</c>). Throws
    /// <see cref="InvalidOperationException"/> naming what fla lacks when the model is not fla's (MD-TPE, MD-LRPE,
    /// a baseline mixer, another attention scale) or the directory is not a causal LM, and
    /// <see cref="FileNotFoundException"/> when the weights are missing.
    /// </summary>
    public static void ExportFla(string runDir, string outDir, string weightsFile = "model.safetensors")
    {
        var cfgPath = Path.Combine(runDir, "config.json");
        var text = ReadConfig(runDir);
        var cfg = LightNetConfig.FromJson(text, cfgPath);
        if (System.Text.Json.Nodes.JsonNode.Parse(text)?["model_type"] is null)
            throw new InvalidOperationException($"export fla: {cfgPath} has no model_type: not a causal LM checkpoint (masked LM, classifier and DiT runs have no fla form)");
        var gaps = cfg.FlaGaps();
        if (gaps.Count > 0)
            throw new InvalidOperationException($"export fla: {runDir} holds a model fla cannot compute: {string.Join("; ", gaps)}. Train with the options off (e.g. --tpe off --lrpe off) to get an fla-compatible model");
        if (Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar) == Path.GetFullPath(runDir).TrimEnd(Path.DirectorySeparatorChar))
            throw new ArgumentException($"export fla: --out must differ from the run directory {runDir}", nameof(outDir));
        var weights = Path.Combine(runDir, weightsFile);
        if (!File.Exists(weights))
            throw new FileNotFoundException($"export fla: {weights} does not exist (an unfinished run has only checkpoint/: finish it with --resume first)", weights);
        using var scope = DisposalScope.Begin();
        var model = new LightNetForCausalLM(cfg, new Generator(0), DType.Float32);
        LoadWeights(runDir, model, weightsFile);
        Save(outDir, model, cfg.ToFlaJson());
    }
}
