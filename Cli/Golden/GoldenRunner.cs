namespace LightNet.Cli.Golden;

/// <summary>
/// Runs a golden file in-process: opens it, finds the handler of its metadata <c>kind</c>, runs it with the
/// file's inputs, parameters and config, and compares every tensor the handler returns with the golden metric.
/// Every stored tensor is accounted for: it is an input the handler read, or compared, or listed as "not computed"
/// (a stored <c>grad/*</c> nobody computes fails; another reference tensor the engine cannot produce, such as a
/// debugging intermediate of a kind that has no handler for it, is listed without failing the file).
/// The <c>lightnet golden</c> command and the tests both call this.
/// </summary>
public static class GoldenRunner
{
    /// <summary>
    /// Tolerance of one tensor: 1e-4 in float32; 1e-10 in float64, or 1e-6 when the reference is stored as
    /// F32 (it carries float32 rounding).
    /// </summary>
    public static double Tolerance(DType compute, SafetensorsDType stored) =>
        compute == DType.Float32 ? 1e-4 : stored == SafetensorsDType.F32 ? 1e-6 : 1e-10;

    /// <summary>Runs <paramref name="path"/> in <paramref name="dtype"/> on <paramref name="device"/> (default CPU) and reports.</summary>
    public static GoldenReport Run(string path, DType dtype = DType.Float32, Device? device = null)
    {
        if (dtype is not (DType.Float32 or DType.Float64)) throw new ArgumentException($"dtype must be float32 or float64, got {dtype.Name()}", nameof(dtype));
        var dev = device ?? Device.Cpu;
        if (!Backends.IsAvailable(dev)) throw new InvalidOperationException($"device {dev} is not available (no backend registered for it)");
        using var file = SafetensorsFile.Open(path);
        if (!file.Metadata.TryGetValue("kind", out var kind)) throw new GoldenFileException($"golden file '{path}': metadata has no 'kind'");
        var handler = GoldenKinds.Find(kind, path);
        var context = new GoldenContext(file, dtype, dev);
        using var scope = DisposalScope.Begin();
        IReadOnlyDictionary<string, Tensor>? results = null;
        try
        {
            results = handler.Run(context);
            var rows = new List<TensorComparison>();
            foreach (var (name, ours) in results)
            {
                if (!file.Contains(name)) throw context.Error($"missing tensor '{name}' (kind '{kind}' compares it)");
                using var reference = file.Load(name, DType.Float64);
                rows.Add(TensorComparison.Of(name, ours, reference, Tolerance(dtype, file.Info(name).FileDType)));
            }
            foreach (var name in file.Names)
            {
                if (results.ContainsKey(name) || context.Inputs.Contains(name)) continue;
                var tol = Tolerance(dtype, file.Info(name).FileDType);
                rows.Add(name.StartsWith("grad/", StringComparison.Ordinal)
                    ? TensorComparison.Missing(name, file.Info(name).Shape, tol)
                    : TensorComparison.NotComputed(name, file.Info(name).Shape, tol));
            }
            return new GoldenReport(path, kind, dtype, dev, rows);
        }
        finally
        {
            if (results != null)
                foreach (var t in results.Values) t.Dispose();
        }
    }
}
