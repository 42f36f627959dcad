using System.Net.Sockets;
using LightNet.Distributed;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Tests;

/// <summary>The data-parallel loop on the CPU: ranks are threads joined by the reference TCP collective.</summary>
public class DataParallelTests
{
    /// <summary>Runs body(collective) on <paramref name="world"/> threads joined into one group; rethrows the first failure.</summary>
    internal static T[] OnRanks<T>(int world, Func<ICollective, T> body)
    {
        int port = TcpGroup.FreeLoopbackPort();
        var results = new T[world];
        var errors = new Exception?[world];
        var threads = Enumerable.Range(0, world).Select(r => new Thread(() =>
        {
            try
            {
                using var c = new TcpCollective(TcpGroup.Join("127.0.0.1", port, r, world, TimeSpan.FromSeconds(30)));
                results[r] = body(c);
            }
            catch (Exception e) { errors[r] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (errors.FirstOrDefault(e => e != null) is { } err) throw new AggregateException(err);
        return results;
    }

    [Test]
    public void AllReduceBroadcastAndBarrierAgreeOnEveryRank()
    {
        var got = OnRanks(3, c =>
        {
            using var s = DisposalScope.Begin();
            var f = Tensor.FromArray(new[] { 1f * c.Rank, 2f, -3f * c.Rank }, [3]);
            var d = Tensor.FromArray(new[] { 0.1 * (c.Rank + 1) }, [1]);
            var l = Tensor.FromArray(new long[] { c.Rank + 10 }, [1]);
            c.AllReduceSum(f); c.AllReduceSum(d); c.AllReduceSum(l);
            var b = Tensor.FromArray(new[] { (double)c.Rank, 7.0 }, [2]);
            c.Broadcast(b, root: 2);
            c.Barrier();
            return (f.ToArray<float>(), d.ToArray<double>()[0], l.ToArray<long>()[0], b.ToArray<double>());
        });
        foreach (var (f, d, l, b) in got)
        {
            Assert.That(f, Is.EqualTo(new[] { 3f, 6f, -9f }));
            Assert.That(d, Is.EqualTo(0.1 + 0.2 + 0.30000000000000004).Within(1e-15));
            Assert.That(l, Is.EqualTo(33));
            Assert.That(b, Is.EqualTo(new[] { 2.0, 7.0 }));
        }
    }

    internal static ArrayImageDataset Data()
    {
        var g = new Generator(9);
        using var x = Tensor.Rand([96, 1, 8, 8], g);
        var labels = Enumerable.Range(0, 96).Select(i => (long)(i % 4)).ToArray();
        return new ArrayImageDataset(x.ToArray<float>(), labels, 1, 8, 8, 4);
    }

    internal static readonly ImageClassifierConfig Tiny = new() { InChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 16, NumHiddenLayers = 1, NumHeads = 2, GateLowRankDim = 4, NumClasses = 4, TpeRpeDim = 8, IntermediateSize = 32 };

    internal static RunOptions Options(string dir) => new() { OutDir = dir, Steps = 6, BatchSize = 16, CheckpointEvery = 3, LogEvery = 1, Seed = 3, CheckEvery = 2 };

    internal static Dictionary<string, float[]> Weights(string dir)
    {
        using var f = SafetensorsFile.Open(Path.Combine(dir, "model.safetensors"));
        return f.Names.ToDictionary(n => n, n => { using var t = f.Load(n); return t.ToArray<float>(); });
    }

    private static void AssertClose(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        Assert.That(a.Keys, Is.EquivalentTo(b.Keys));
        foreach (var n in a.Keys) Assert.That(a[n], Is.EqualTo(b[n]).Within(2e-5), n);
    }

    internal static void WithDirs(int n, Action<string[]> body)
    {
        var dirs = Enumerable.Range(0, n).Select(_ => Path.Combine(Path.GetTempPath(), "lightnet-dp-" + Guid.NewGuid().ToString("N"))).ToArray();
        try { body(dirs); }
        finally { foreach (var d in dirs) if (Directory.Exists(d)) Directory.Delete(d, true); }
    }

    [Test]
    public void TwoRanksTrainLikeOneRankWithTheSameGlobalBatch() => WithDirs(2, dirs =>
    {
        var data = Data();
        TrainingLoop.Run(Options(dirs[0]), new ClassifierTask(Tiny, Options(dirs[0]), data, data));
        var results = OnRanks(2, c =>
        {
            var o = Options(dirs[1]) with { Collective = c };
            return TrainingLoop.Run(o, new ClassifierTask(Tiny, o, data, data));
        });
        Assert.That(results.All(r => r.Finished), Is.True);
        AssertClose(Weights(dirs[1]), Weights(dirs[0]));
        var one = new MetricsLog(dirs[0]).Read().Where(r => r.ContainsKey("loss")).Select(r => r["loss"].GetDouble()).ToArray();
        var two = new MetricsLog(dirs[1]).Read().Where(r => r.ContainsKey("loss")).Select(r => r["loss"].GetDouble()).ToArray();
        Assert.That(two, Is.EqualTo(one).Within(1e-5), "loss curve");
    });

    [Test]
    public void ResumesWithADifferentNumberOfRanks() => WithDirs(2, dirs =>
    {
        var data = Data();
        TrainingLoop.Run(Options(dirs[0]), new ClassifierTask(Tiny, Options(dirs[0]), data, data));
        OnRanks(2, c =>
        {
            var o = Options(dirs[1]) with { Collective = c, StopAfter = 3 };
            return TrainingLoop.Run(o, new ClassifierTask(Tiny, o, data, data));
        });
        var resumed = Options(dirs[1]) with { Resume = true };
        Assert.That(TrainingLoop.Run(resumed, new ClassifierTask(Tiny, resumed, data, data)).Finished, Is.True);
        AssertClose(Weights(dirs[1]), Weights(dirs[0]));
    });

    [Test]
    public void UnevenBatchIsRejectedNamingTheFlag()
    {
        var e = Assert.Throws<AggregateException>(() => OnRanks(3, c =>
        {
            var o = Options("unused") with { Collective = c };
            return TrainingLoop.Run(o, new ClassifierTask(Tiny, o, Data(), null));
        }));
        Assert.That(e!.InnerException!.Message, Does.Contain("--batch-size 16").And.Contain("3 data-parallel ranks"));
    }

    [Test]
    public void APeerThatIsNotARankIsRefused()
    {
        int port = TcpGroup.FreeLoopbackPort();
        var join = Task.Run(() => TcpGroup.Join("127.0.0.1", port, 0, 2, TimeSpan.FromSeconds(20)));
        using var client = new TcpClient();
        for (int i = 0; i < 100 && !client.Connected; i++)
        {
            try { client.Connect("127.0.0.1", port); } catch (SocketException) { Thread.Sleep(50); }
        }
        var s = client.GetStream();
        s.Write(BitConverter.GetBytes(4L));
        s.Write("junk"u8);
        var e = Assert.Throws<AggregateException>(() => join.Wait());
        Assert.That(e!.InnerException, Is.InstanceOf<IOException>());
        Assert.That(e.InnerException!.Message, Does.Contain("malformed greeting"));
    }
}
