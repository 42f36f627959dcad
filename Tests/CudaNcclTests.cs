using LightNet.Distributed;
using LightNet.Kernels.Cuda;

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
}
