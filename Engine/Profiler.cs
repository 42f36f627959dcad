using System.Diagnostics;
using System.Reflection;

namespace LightNet;

/// <summary>
/// Per-kernel time profile: <see cref="Enable"/> wraps a device's backend in a timing proxy, so every kernel
/// call (e.g. <c>Matmul</c>, <c>Unary.Silu</c>, <c>AdditiveCausalForward</c>) is counted with its wall time.
/// Meant for <c>lightnet bench</c>; off by default (no cost).
/// </summary>
public static class Profiler
{
    private static readonly Dictionary<string, (long Calls, double Seconds)> _stats = [];
    private static readonly Lock _lock = new();

    /// <summary>
    /// Starts profiling the backend of <paramref name="device"/> (idempotent). For an asynchronous device pass its
    /// <paramref name="synchronize"/>: it runs after every call, so each kernel's time is its device time, not its launch.
    /// <paramref name="byShape"/> counts each kernel separately per shape of its tensor arguments (<c>*</c> marks a strided view).
    /// </summary>
    public static void Enable(Device device, Action? synchronize = null, bool byShape = false)
    {
        var inner = Backends.For(device);
        if (inner is ITimedBackend) return;
        // The proxy offers the fused attention kernels exactly when the wrapped backend has them.
        IBackend proxy = inner is IFusedAttentionBackend ? DispatchProxy.Create<IFusedBackend, TimingProxy>() : DispatchProxy.Create<IBackend, TimingProxy>();
        ((TimingProxy)(object)proxy).Target = inner;
        ((TimingProxy)(object)proxy).Synchronize = synchronize;
        ((TimingProxy)(object)proxy).ByShape = byShape;
        Backends.Register(proxy);
    }

    /// <summary>Stops profiling and restores the original backend.</summary>
    public static void Disable(Device device)
    {
        if (Backends.For(device) is TimingProxy p && p.Target != null) Backends.Register(p.Target);
    }

    /// <summary>Clears the counters.</summary>
    public static void Reset() { lock (_lock) _stats.Clear(); }

    /// <summary>Kernel name → (calls, seconds), most expensive first.</summary>
    public static IReadOnlyList<(string Kernel, long Calls, double Seconds)> Snapshot()
    {
        lock (_lock) return [.. _stats.Select(kv => (kv.Key, kv.Value.Calls, kv.Value.Seconds)).OrderByDescending(x => x.Seconds)];
    }

    private static void Add(string name, double seconds)
    {
        lock (_lock)
        {
            _stats.TryGetValue(name, out var s);
            _stats[name] = (s.Calls + 1, s.Seconds + seconds);
        }
    }

    private interface ITimedBackend;

    /// <summary>What the proxy implements for a backend with fused attention kernels (public only because DispatchProxy requires it).</summary>
    public interface IFusedBackend : IBackend, IFusedAttentionBackend;

    /// <summary>The timing proxy (public only because DispatchProxy requires it).</summary>
    public class TimingProxy : DispatchProxy, ITimedBackend
    {
        internal IBackend? Target { get; set; }
        internal Action? Synchronize { get; set; }
        internal bool ByShape { get; set; }

        /// <inheritdoc/>
        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(method);
            var name = method.Name;
            // properties and queries (a dtype answer) launch nothing: no synchronisation, no entry
            bool query = name.StartsWith("get_", StringComparison.Ordinal) || method.ReturnType == typeof(DType);
            if (args is { Length: > 0 } && args[0] is Enum op) name += "." + op;
            if (ByShape && args != null)
                name += "(" + string.Join(", ", args.OfType<Tensor>().Select(t => $"{t.DType.Name()}[{string.Join('x', t.Shape.ToArray())}]{(t.IsContiguous ? "" : "*")}")) + ")";
            var sw = Stopwatch.StartNew();
            try
            {
                var r = method.Invoke(Target, args);
                if (!query) Synchronize?.Invoke();
                return r;
            }
            catch (TargetInvocationException e) when (e.InnerException != null) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw(); throw; }
            finally { if (!query) Add(name, sw.Elapsed.TotalSeconds); }
        }
    }
}
