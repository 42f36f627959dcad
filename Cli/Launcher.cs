using System.Diagnostics;
using System.Globalization;
using LightNet.Cli.CommandLine;
using LightNet.Distributed;
using LightNet.Kernels.Cuda;

namespace LightNet.Cli;

/// <summary>
/// Data-parallel launch of <c>lightnet train …</c>: <c>--gpus N</c> (one process per GPU, NCCL) or <c>--procs N</c>
/// (CPU processes, the reference TCP collective), optionally over several machines with <c>--nodes M --node-rank K
/// --master-addr HOST --master-port P</c>. The launcher re-runs the same command once per local rank with
/// <c>LIGHTNET_RANK</c>, <c>LIGHTNET_LOCAL_RANK</c>, <c>LIGHTNET_WORLD_SIZE</c>, <c>LIGHTNET_MASTER_ADDR</c> and
/// <c>LIGHTNET_MASTER_PORT</c> set, waits for all of them and stops the others when one fails. Rank 0 listens on
/// the master port; the NCCL unique id travels over that connection.
/// </summary>
internal static class Launcher
{
    private const string RankVar = "LIGHTNET_RANK", LocalRankVar = "LIGHTNET_LOCAL_RANK", WorldVar = "LIGHTNET_WORLD_SIZE";
    private const string AddrVar = "LIGHTNET_MASTER_ADDR", PortVar = "LIGHTNET_MASTER_PORT";

    /// <summary>The data-parallel flags of a command line.</summary>
    public sealed record Plan(int Gpus, int Procs, int Nodes, int NodeRank, string MasterAddr, int? MasterPort)
    {
        /// <summary>Processes on this machine.</summary>
        public int Local => Math.Max(Gpus, Procs);
        /// <summary>Ranks in the whole job.</summary>
        public int World => Local * Nodes;
    }

    /// <summary>Reads the launch flags.</summary>
    public static Plan Read(Args a)
    {
        int gpus = a.Int("--gpus"), procs = a.Int("--procs");
        if (gpus > 0 && procs > 0) throw a.Error("give --gpus or --procs, not both");
        var plan = new Plan(gpus, Math.Max(procs, gpus > 0 ? 0 : 1), a.Int("--nodes"), a.Int("--node-rank"), a.String("--master-addr"), a.OptInt("--master-port"));
        if (plan.NodeRank >= plan.Nodes) throw a.Error($"--node-rank {plan.NodeRank} must be below --nodes {plan.Nodes}");
        if (plan.Nodes > 1 && plan.MasterPort == null) throw a.Error("several nodes need --master-addr and --master-port (the same on every node)");
        return plan;
    }

    /// <summary>True in a process the launcher started.</summary>
    public static bool IsRank => Environment.GetEnvironmentVariable(RankVar) != null;

    /// <summary>True in the rank that writes the run's files and reports progress.</summary>
    public static bool IsRootRank => Environment.GetEnvironmentVariable(RankVar) == "0";

    /// <summary>When the command asks for more than one rank and this is not yet a rank, starts the ranks (each re-running <paramref name="args"/>) and returns their exit code.</summary>
    public static int? TryLaunch(Args a, string[] args)
    {
        if (IsRank) return null;
        var plan = Read(a);
        if (plan.World <= 1) return null;
        int port = plan.MasterPort ?? TcpGroup.FreeLoopbackPort();
        var (exe, prefix) = SelfCommand();
        var children = new List<Process>();
        for (int local = 0; local < plan.Local; local++)
        {
            var psi = new ProcessStartInfo(exe) { UseShellExecute = false };
            foreach (var arg in prefix.Concat(args)) psi.ArgumentList.Add(arg);
            int rank = plan.NodeRank * plan.Local + local;
            psi.Environment[RankVar] = rank.ToString(CultureInfo.InvariantCulture);
            psi.Environment[LocalRankVar] = local.ToString(CultureInfo.InvariantCulture);
            psi.Environment[WorldVar] = plan.World.ToString(CultureInfo.InvariantCulture);
            psi.Environment[AddrVar] = plan.MasterAddr;
            psi.Environment[PortVar] = port.ToString(CultureInfo.InvariantCulture);
            children.Add(Process.Start(psi) ?? throw new InvalidOperationException($"train: could not start rank {rank}"));
        }
        Console.Error.WriteLine($"lightnet: started {plan.Local} rank(s) of {plan.World} on this node (master {plan.MasterAddr}:{port})");
        int code = 0;
        var pending = children.ToList();
        while (pending.Count > 0)
        {
            var done = pending.FirstOrDefault(p => p.HasExited);
            if (done == null) { Thread.Sleep(200); continue; }
            pending.Remove(done);
            if (done.ExitCode != 0 && code == 0)
            {
                code = done.ExitCode;
                Console.Error.WriteLine($"lightnet: a rank exited with code {code}; stopping the others");
                foreach (var p in pending) try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            }
        }
        return code;
    }

    private static (string Exe, string[] Prefix) SelfCommand()
    {
        var exe = Environment.ProcessPath ?? throw new InvalidOperationException("train: cannot find this program's path to start the ranks");
        if (Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            return (exe, [typeof(Launcher).Assembly.Location]);
        return (exe, []);
    }

    /// <summary>In a rank: joins the job and returns its communicator and device (cuda:LOCAL_RANK with --gpus, else the CPU).</summary>
    public static (ICollective? Collective, Device? Device) Join(Plan plan)
    {
        if (!IsRank) return (null, plan.Gpus == 1 ? DeviceOption.Resolve("train", "cuda:0") : null);
        int Env(string name) => int.Parse(Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException($"train: {name} is not set"), CultureInfo.InvariantCulture);
        int rank = Env(RankVar), local = Env(LocalRankVar), world = Env(WorldVar), port = Env(PortVar);
        var addr = Environment.GetEnvironmentVariable(AddrVar) ?? "127.0.0.1";
        var group = TcpGroup.Join(addr, port, rank, world, TimeSpan.FromMinutes(2));
        if (plan.Gpus > 0)
        {
            var device = DeviceOption.Resolve("train", $"cuda:{local}");
            return (new NcclCollective(group, device), device);
        }
        Parallelism.Threads = Math.Max(1, Environment.ProcessorCount / plan.Local);
        return (new TcpCollective(group), Device.Cpu);
    }
}
