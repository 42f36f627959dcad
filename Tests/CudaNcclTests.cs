using LightNet.Distributed;
using LightNet.Kernels.Cuda;
using LightNet.Models.Training;

namespace LightNet.Tests;

/// <summary>NCCL through our binding on one GPU (world size 1: the collectives are identities, but every call, the id exchange and the error path run).</summary>
public class CudaNcclTests
{
    private static NcclCollective Single(Device device)
    {
        if (!NcclCollective.IsAvailable(out var report)) Assert.Ignore("NCCL unavailable: " + report);
        return new NcclCollective(TcpGroup.Join("127.0.0.1", TcpGroup.FreeLoopbackPort(), 0, 1, TimeSpan.FromSeconds(10)), device);
    }

    [Test]
    public void CollectivesRunOnOneRank()
    {
        var dev = Gpu.Require();
        using var nccl = Single(dev);
        TestContext.Out.WriteLine($"NCCL version {NcclCollective.Version()}");
        using var s = DisposalScope.Begin();
        var x = Tensor.FromArray(new[] { 1f, -2f, 3.5f }, [3]).To(dev);
        nccl.AllReduceSum(x);
        nccl.Broadcast(x, 0);
        var d = Tensor.FromArray(new[] { 0.25, 4.0 }, [2]).To(dev);
        var gathered = Tensor.Zeros([2], DType.Float64, dev);
        var scattered = Tensor.Zeros([2], DType.Float64, dev);
        nccl.Group(() => { nccl.AllGather(d, gathered); nccl.ReduceScatterSum(d, scattered); });
        nccl.Barrier();
        Assert.That(x.To(Device.Cpu).ToArray<float>(), Is.EqualTo(new[] { 1f, -2f, 3.5f }));
        Assert.That(gathered.To(Device.Cpu).ToArray<double>(), Is.EqualTo(new[] { 0.25, 4.0 }));
        Assert.That(scattered.To(Device.Cpu).ToArray<double>(), Is.EqualTo(new[] { 0.25, 4.0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => nccl.Broadcast(x, 1));
        var cpu = Tensor.Zeros([2]);
        Assert.That(Assert.Throws<ArgumentException>(() => nccl.AllReduceSum(cpu))!.Message, Does.Contain("all_reduce").And.Contain("cpu"));
    }

    [Test]
    public void StartedAllReduceOrdersWithTheWorkStreamOnOneRank()
    {
        var dev = Gpu.Require();
        using var nccl = Single(dev);
        using var s = DisposalScope.Begin();
        var a = Tensor.FromArray(new[] { 1f, -2f, 3.5f, 8f }, [4]).To(dev);
        var x = a * 3.0;                          // made by a kernel on the work stream just before the start
        ICollective c = nccl;
        var w = c.StartAllReduceSum(x);
        var y = Tensor.FromArray(new[] { 0.5 }, [1]).To(dev);
        var wy = c.StartAllReduceSum(y);
        w.Wait();
        x.Mul_(0.5);                              // queued behind the all-reduce
        var z = Tensor.FromArray(new[] { 2.0 }, [1]).To(dev);
        c.AllReduceSum(z);                        // without waiting for wy first: the work stream waits for it
        wy.Wait();
        w.Wait();
        Assert.That(x.To(Device.Cpu).ToArray<float>(), Is.EqualTo(new[] { 1.5f, -3f, 5.25f, 12f }));
        Assert.That(y.To(Device.Cpu).ToArray<double>(), Is.EqualTo(new[] { 0.5 }));
        Assert.That(z.To(Device.Cpu).ToArray<double>(), Is.EqualTo(new[] { 2.0 }));
        Assert.That(Assert.Throws<ArgumentException>(() => c.StartAllReduceSum(Tensor.Zeros([2])))!.Message, Does.Contain("all_reduce").And.Contain("cpu"));
    }

    /// <summary>Runs only with two GPUs: ranks as threads, one GPU each; the overlapped path against the one after backward.</summary>
    [Test]
    public void TwoGpusOverlappedAveragingEqualsAveragingAfterBackward()
    {
        Gpu.Require();
        if (CudaRuntime.DeviceCount < 2) Assert.Ignore($"needs 2 GPUs, found {CudaRuntime.DeviceCount}");
        if (!NcclCollective.IsAvailable(out var report)) Assert.Ignore("NCCL unavailable: " + report);
        int port = TcpGroup.FreeLoopbackPort();
        var results = new (float[][] Overlapped, float[][] After, float[][] Local)[2];
        var errors = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            try
            {
                var dev = Device.Cuda(r);
                using var c = new NcclCollective(TcpGroup.Join("127.0.0.1", port, r, 2, TimeSpan.FromSeconds(30)), dev);
                results[r] = (TinyMlp.Step(c, dev, TinyMlp.Mode.Overlapped, bucketBytes: 100).Grads,
                    TinyMlp.Step(c, dev, TinyMlp.Mode.AfterBackward, bucketBytes: 100).Grads,
                    TinyMlp.Step(c, dev, TinyMlp.Mode.Local, bucketBytes: 100).Grads);
                c.Barrier();
            }
            catch (Exception e) { errors[r] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (errors.FirstOrDefault(e => e != null) is { } err) throw new AggregateException(err);
        for (int i = 0; i < 4; i++)
            for (int r = 0; r < 2; r++)
            {
                Assert.That(TinyMlp.Bits(results[r].Overlapped[i]), Is.EqualTo(TinyMlp.Bits(results[r].After[i])), $"rank {r}, parameter {i}");
                Assert.That(TinyMlp.Bits(results[r].Overlapped[i]), Is.EqualTo(TinyMlp.Bits(results[0].Overlapped[i])), $"rank {r} against rank 0, parameter {i}");
            }
        for (int i = 0; i < 3; i++)
            Assert.That(results[0].Overlapped[i], Is.EqualTo(results[0].Local[i].Zip(results[1].Local[i], (a, b) => (a + b) * 0.5f).ToArray()).Within(1e-6), $"mean of parameter {i}");
        Assert.That(results[0].Overlapped[3], Is.EqualTo(new float[4]));
    }
}
