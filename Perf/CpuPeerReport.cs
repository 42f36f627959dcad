using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using LightNet.Autograd;
using LightNet.Models.Data;
using LightNet.Models.LightNet;
using LightNet.Models.Optim;

namespace LightNet.Perf;

/// <summary>
/// <c>report cpu-peer [--rounds N] [--idle-wait S] [--profile]</c>: the engine against PyTorch on the CPU, float32, same shapes and thread
/// count — a 2048³ matrix product, the LightNet attention layer (hidden 512, H 8, d 64, gate rank 128, B 4, T 1024, causal)
/// forward + backward, and a training step of the causal LM (hidden 512, 8 layers, byte vocabulary, B 4, T 1024, AdamW).
/// The peer is <c>scripts/bench/torch_cpu.py --serve</c> under <c>$LIGHTNET_PYTHON</c> (default <c>/usr/bin/python3</c>),
/// kept running; each round times every item once on each side, engine and peer alternating, each timing preceded by a
/// check that the rest of the machine is idle (waiting at most <c>--idle-wait</c> seconds in all). Prints the table and
/// <c>peer ITEM ratio R</c> with R = peer median / engine median; exits 2 with one line when the peer cannot run.
/// <c>--profile</c> adds the engine's per-kernel times of the layer and the LM step, by operand shape.
/// </summary>
public static class CpuPeerReport
{
    private const int Hidden = 512, HeadDim = 64, GateRank = 128, Layers = 8, Batch = 4, Seq = 1024, GemmSize = 2048;

    /// <summary>Other processes using less than this many cores count as idle.</summary>
    private const double IdleCores = 0.1;

    private sealed record Options(int Rounds, double IdleWaitSeconds, string Python, string Script, bool Profile);

    private sealed record Item(string Name, Action Engine);

    /// <summary>Runs the rounds and prints the table; returns 0, or 2 when the peer cannot start or fails.</summary>
    public static int Run(string[] args)
    {
        var o = Parse(args);
        if (!File.Exists("/proc/stat")) { Console.WriteLine("cpu-peer: needs Linux (/proc/stat for the idle check)"); return 2; }
        Console.WriteLine($"cpu-peer: float32, {Parallelism.Threads} threads on each side, {o.Rounds} rounds, idle check before each timing " +
            $"(other processes below {IdleCores} cores, at most {o.IdleWaitSeconds:F0} s of waiting in all); peer: {o.Python} {o.Script}");
        try
        {
            using var peer = Peer.Start(o);
            using var scope = DisposalScope.Begin();
            var items = Items();
            int rc = Rounds(o, items, peer);
            if (o.Profile)
                foreach (var item in items.Where(i => i.Name != "gemm2048")) KernelProfile.Print($"engine {item.Name}", item.Engine, top: 20, byShape: true);
            return rc;
        }
        catch (PeerException e)
        {
            Console.WriteLine("cpu-peer: " + e.Message);
            return 2;
        }
    }

    private static Options Parse(string[] args)
    {
        return new Options(
            Rounds: Report.Option(args, "--rounds") is string r ? int.Parse(r, CultureInfo.InvariantCulture) : 7,
            IdleWaitSeconds: Report.Option(args, "--idle-wait") is string w ? double.Parse(w, CultureInfo.InvariantCulture) : 60,
            Python: Environment.GetEnvironmentVariable("LIGHTNET_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3",
            Script: Path.Combine(AppContext.BaseDirectory, "scripts", "torch_cpu.py"),
            Profile: args.Contains("--profile"));
    }

    /// <summary>The engine's side of each item, built once (inside the caller's disposal scope).</summary>
    private static Item[] Items()
    {
        var a = Tensor.RandN([GemmSize, GemmSize], new Generator(1));
        var b = Tensor.RandN([GemmSize, GemmSize], new Generator(2));

        var layer = new LightNetAttention(AttentionConfig.FromFla(Hidden, null, HeadDim, GateRank, causal: true), new Generator(3));
        var x = new Variable(Tensor.RandN([Batch, Seq, Hidden], new Generator(4)), requiresGrad: true);
        var dy = Tensor.RandN([Batch, Seq, Hidden], new Generator(5));

        var cfg = new LightNetConfig
        {
            VocabSize = ByteTokenizer.Instance.VocabSize, HiddenSize = Hidden, NumHiddenLayers = Layers, ExpandRatio = HeadDim, GateLowRankDim = GateRank,
        };
        var model = new LightNetForCausalLM(cfg, new Generator(6));
        var opt = new AdamW(model.Parameters().ToList(), lr: 3e-4, weightDecay: 0.01);
        var rng = new Random(7);
        var ids = Tensor.FromArray(Enumerable.Range(0, Batch * Seq).Select(_ => (long)rng.Next(cfg.VocabSize)).ToArray(), [Batch, Seq]);

        return [
            new Item("gemm2048", () => Tensor.Matmul(a, b).Dispose()),
            new Item("layer", () =>
            {
                using (DisposalScope.Begin()) layer.Mix(x, null, null, null).Y.Backward(dy);
                x.ZeroGrad();
                layer.ZeroGrad();
            }),
            new Item("lm", () =>
            {
                using (DisposalScope.Begin()) model.Loss(ids).Backward();
                opt.Step();
                opt.ZeroGrad();
            }),
        ];
    }

    private static int Rounds(Options o, Item[] items, Peer peer)
    {
        var gate = new IdleGate(o.IdleWaitSeconds, peer.Process);
        var engine = items.ToDictionary(i => i.Name, _ => new List<double>());
        var peerMs = items.ToDictionary(i => i.Name, _ => new List<double>());
        var load = items.ToDictionary(i => i.Name, _ => new List<double>());
        double EngineMs(Item item, bool first)
        {
            if (first) item.Engine();  // warm-up
            var sw = Stopwatch.StartNew();
            item.Engine();
            return sw.Elapsed.TotalMilliseconds;
        }
        for (int r = 0; r < o.Rounds; r++)
        {
            foreach (var item in r % 2 == 0 ? items : items.Reverse())
                foreach (bool engineSide in r % 2 == 0 ? new[] { true, false } : [false, true])
                {
                    load[item.Name].Add(gate.Wait());
                    (engineSide ? engine : peerMs)[item.Name].Add(engineSide ? EngineMs(item, first: r == 0) : peer.RunMs(item.Name));
                }
            Console.WriteLine($"round {r + 1}/{o.Rounds}: " + string.Join(", ", items.Select(i => $"{i.Name} {engine[i.Name][^1]:F1} / {peerMs[i.Name][^1]:F1} ms")));
        }
        Console.WriteLine();
        Console.WriteLine($"| item | engine median ms | engine min–max | peer median ms | peer min–max | R = peer / engine | other load before timings, cores (median, max) |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var ratios = new List<string>();
        foreach (var item in items)
        {
            var (em, el, eh) = Stats(engine[item.Name]);
            var (pm, pl, ph) = Stats(peerMs[item.Name]);
            var (lm, _, lh) = Stats(load[item.Name]);
            Console.WriteLine($"| {item.Name} | {em:F1} | {el:F1}–{eh:F1} | {pm:F1} | {pl:F1}–{ph:F1} | {pm / em:F2} | {lm:F2}, {lh:F2} |");
            ratios.Add($"peer {item.Name} ratio {pm / em:F2}");
        }
        var (gemmEngine, _, _) = Stats(engine["gemm2048"]);
        var (gemmPeer, _, _) = Stats(peerMs["gemm2048"]);
        double flop = 2.0 * GemmSize * GemmSize * GemmSize;
        Console.WriteLine($"\ngemm2048 at the medians: engine {flop / gemmEngine / 1e6:F1} GFLOP/s, peer {flop / gemmPeer / 1e6:F1} GFLOP/s; " +
            $"waited {gate.Waited:F1} s of {o.IdleWaitSeconds:F0} s for an idle machine");
        foreach (var line in ratios) Console.WriteLine(line);
        return 0;
    }

    private static (double Median, double Min, double Max) Stats(List<double> v)
    {
        var s = v.Order().ToArray();
        return (s[s.Length / 2], s[0], s[^1]);
    }

    /// <summary>Failure of the peer process, reported as one line.</summary>
    private sealed class PeerException(string message) : Exception(message);

    /// <summary>The running <c>torch_cpu.py --serve</c>: its header is echoed, each <see cref="RunMs"/> is one timed execution.</summary>
    private sealed class Peer : IDisposable
    {
        private readonly Options options;
        private string lastError = "";

        private Peer(Options options, Process process)
        {
            this.options = options;
            Process = process;
        }

        public Process Process { get; }

        public static Peer Start(Options o)
        {
            var psi = new ProcessStartInfo(o.Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { o.Script, "--serve", "--threads", Parallelism.Threads.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
            Process process;
            try { process = Process.Start(psi) ?? throw new PeerException($"cannot start {o.Python}"); }
            catch (Win32Exception e) { throw new PeerException($"cannot start {o.Python} ({e.Message}); set LIGHTNET_PYTHON to a python3 with torch"); }
            var peer = new Peer(o, process);
            process.ErrorDataReceived += (_, e) => { if (!string.IsNullOrWhiteSpace(e.Data)) peer.lastError = e.Data.Trim(); };
            process.BeginErrorReadLine();
            for (string line; (line = peer.ReadLine()) != "ready";) Console.WriteLine("peer: " + line);
            return peer;
        }

        /// <summary>Asks the peer for one timed execution of <paramref name="item"/>; its milliseconds.</summary>
        public double RunMs(string item)
        {
            Process.StandardInput.WriteLine("run " + item);
            Process.StandardInput.Flush();
            string line = ReadLine();
            return line.StartsWith("ms ", StringComparison.Ordinal) ? double.Parse(line[3..], CultureInfo.InvariantCulture)
                : throw new PeerException($"unexpected answer from the peer to `run {item}`: {line}");
        }

        private string ReadLine()
        {
            if (Process.StandardOutput.ReadLine() is string line) return line;
            Process.WaitForExit();
            throw new PeerException($"the peer ({options.Python} {options.Script}) exited with code {Process.ExitCode}: {lastError} " +
                "(it needs torch: Debian python3-torch and libopenblas0-pthread; LIGHTNET_PYTHON names the interpreter)");
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                try { Process.StandardInput.WriteLine("quit"); Process.StandardInput.Close(); }
                catch (IOException) { }
                if (!Process.WaitForExit(5000)) Process.Kill();
            }
            Process.Dispose();
        }
    }

    /// <summary>
    /// Waits until the processes other than this one and the peer keep less than <see cref="IdleCores"/> cores busy
    /// (/proc/stat over 0.5 s), within a total budget of waiting.
    /// </summary>
    private sealed class IdleGate(double budgetSeconds, Process peer)
    {
        private readonly Stopwatch waited = new();

        public double Waited => waited.Elapsed.TotalSeconds;

        /// <summary>The cores busy elsewhere at the last reading (below the threshold unless the budget ran out).</summary>
        public double Wait()
        {
            double load = OtherCores();
            while (load >= IdleCores && Waited < budgetSeconds)
            {
                waited.Start();
                load = OtherCores();
                waited.Stop();
            }
            return load;
        }

        private double OtherCores()
        {
            var sw = Stopwatch.StartNew();
            double busy0 = BusySeconds(), own0 = OwnSeconds();
            Thread.Sleep(500);
            double busy1 = BusySeconds(), own1 = OwnSeconds();
            return Math.Max(0, (busy1 - busy0) - (own1 - own0)) / sw.Elapsed.TotalSeconds;
        }

        private double OwnSeconds()
        {
            peer.Refresh();
            using var self = Process.GetCurrentProcess();
            return (self.TotalProcessorTime + peer.TotalProcessorTime).TotalSeconds;
        }

        /// <summary>Busy time of all cores (user, nice, system, irq, softirq, steal) from the first line of /proc/stat, in seconds.</summary>
        private static double BusySeconds()
        {
            var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long Field(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
            return (Field(1) + Field(2) + Field(3) + Field(6) + Field(7) + Field(8)) / 100.0;
        }
    }
}
