using LightNet.Autograd;
using LightNet.Distributed;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Tests;

/// <summary>A small float32 network for the data-parallel tests: w2 is used twice, u never (its gradient stays missing).</summary>
internal static class TinyMlp
{
    /// <summary>w1 [6, 8], w2 [8, 8], w3 [8, 3], u [4]: the same values on every rank.</summary>
    public static Variable[] Parameters(Device device)
    {
        var g = new Generator(5);
        Variable P(int[] shape, string name)
        {
            using var t = Tensor.RandN(shape, g, std: 0.5);
            return new Variable(t.To(device), true, name);
        }
        return [P([6, 8], "w1"), P([8, 8], "w2"), P([8, 3], "w3"), P([4], "u")];
    }

    /// <summary>A loss on data of its own for each rank and micro-batch, scaled for accumulation over 2 micro-batches.</summary>
    public static Variable Loss(Variable[] p, int rank, int micro)
    {
        var g = new Generator((ulong)(100 + 10 * rank + micro));
        var dev = p[0].Device;
        var x = new Variable(Tensor.RandN([4, 6], g).To(dev));
        var y = new Variable(Tensor.RandN([4, 3], g).To(dev));
        var h = Variable.Matmul(x, p[0]).Tanh();
        h = Variable.Matmul(h, p[1]).Tanh();
        h = Variable.Matmul(h, p[1]).Tanh();
        return (Variable.Matmul(h, p[2]) - y).Square().Sum() * 0.0625;
    }

    /// <summary>How the gradients are averaged in <see cref="Step"/>.</summary>
    public enum Mode { Overlapped, AfterBackward, Local }

    /// <summary>Two accumulated micro-batches on fresh parameters, then the gradients (empty where missing) and the buckets.</summary>
    public static (float[][] Grads, IReadOnlyList<IReadOnlyList<int>> Buckets) Step(ICollective c, Device device, Mode mode, long bucketBytes)
    {
        using var s = DisposalScope.Begin();
        var p = Parameters(device);
        var dp = new DataParallel(c, p, bucketBytes);
        for (int m = 0; m < 2; m++)
        {
            var loss = Loss(p, c.Rank, m);
            if (mode == Mode.Overlapped) dp.Backward(loss, reduce: m == 1);
            else loss.Backward();
        }
        if (mode == Mode.Overlapped) dp.FinishGradients();
        else if (mode == Mode.AfterBackward) dp.AverageGradients();
        var grads = p.Select(v => v.Grad?.To(Device.Cpu).ToArray<float>() ?? []).ToArray();
        foreach (var v in p) v.ZeroGrad();
        return (grads, dp.Buckets);
    }

    /// <summary>The bit patterns (for bitwise comparisons).</summary>
    public static int[] Bits(float[] a) => a.Select(BitConverter.SingleToInt32Bits).ToArray();
}

/// <summary>Gradient all-reduces overlapped with the backward pass (<see cref="DataParallel.Backward"/>).</summary>
public class DataParallelOverlapTests
{
    [Test]
    public void OverlappedAveragingEqualsAveragingAfterBackwardBitwiseWithAccumulation()
    {
        var got = DataParallelTests.OnRanks(2, c => (
            Overlapped: TinyMlp.Step(c, Device.Cpu, TinyMlp.Mode.Overlapped, bucketBytes: 100),
            After: TinyMlp.Step(c, Device.Cpu, TinyMlp.Mode.AfterBackward, bucketBytes: 100),
            Local: TinyMlp.Step(c, Device.Cpu, TinyMlp.Mode.Local, bucketBytes: 100)));
        // Reverse parameter order: u (16 B) + w3 (96 B) reach 100 B; then w2, then w1.
        Assert.That(got[0].Overlapped.Buckets, Is.EqualTo(new[] { new[] { 3, 2 }, new[] { 1 }, new[] { 0 } }));
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < 4; i++)
            {
                Assert.That(TinyMlp.Bits(got[r].Overlapped.Grads[i]), Is.EqualTo(TinyMlp.Bits(got[r].After.Grads[i])), $"rank {r}, parameter {i}");
                Assert.That(TinyMlp.Bits(got[r].Overlapped.Grads[i]), Is.EqualTo(TinyMlp.Bits(got[0].Overlapped.Grads[i])), $"rank {r} against rank 0, parameter {i}");
            }
        for (int i = 0; i < 3; i++)
        {
            var l0 = got[0].Local.Grads[i];
            var l1 = got[1].Local.Grads[i];
            Assert.That(l0, Is.Not.EqualTo(l1), "the ranks' local gradients differ");
            Assert.That(got[0].Overlapped.Grads[i], Is.EqualTo(l0.Zip(l1, (a, b) => (a + b) * 0.5f).ToArray()), $"mean of parameter {i}");
        }
        Assert.That(got[0].Local.Grads[3], Is.Empty, "u gets no gradient");
        Assert.That(got[0].Overlapped.Grads[3], Is.EqualTo(new float[4]), "a missing gradient is reduced as zeros");
    }

    /// <summary>Acts as two ranks holding the same gradients (sums double them) and logs every call.</summary>
    private sealed class RecordingCollective(List<string> log, Func<string> probe) : ICollective
    {
        public int Rank => 0;
        public int WorldSize => 2;

        public void AllReduceSum(Tensor t)
        {
            log.Add($"all_reduce {t.Numel}");
            t.Mul_(2.0);
        }

        public ICollectiveWork StartAllReduceSum(Tensor t)
        {
            log.Add($"start {t.Numel} {probe()}");
            return new Work(log, t);
        }

        public void Broadcast(Tensor t, int root = 0) { }
        public void Barrier() { }
        public void Dispose() { }

        private sealed class Work(List<string> log, Tensor t) : ICollectiveWork
        {
            private bool _done;

            public void Wait()
            {
                if (_done) return;
                _done = true;
                log.Add($"wait {t.Numel}");
                t.Mul_(2.0);
            }
        }
    }

    /// <summary>
    /// Buckets of one parameter each. In the natural order the backward pass finishes u (unused: at once), w3, w2,
    /// w1, so each bucket starts while w1's gradient is still pending, except w1's own. With the parameters listed
    /// backwards, the buckets are u, w1, w2, w3: w3 and w2 are final first but wait for w1's bucket (index order).
    /// </summary>
    [TestCase(false, new[] { "start 4 (w1 pending)", "start 24 (w1 pending)", "start 64 (w1 pending)", "start 48 (w1 done)" })]
    [TestCase(true, new[] { "start 4 (w1 pending)", "start 48 (w1 done)", "start 64 (w1 done)", "start 24 (w1 done)" })]
    public void BucketsStartDuringTheBackwardPassInIndexOrderAndAreAwaitedAtFinish(bool reversed, string[] starts)
    {
        using var s = DisposalScope.Begin();
        var p = TinyMlp.Parameters(Device.Cpu);
        var log = new List<string>();
        float[]? w1AfterFirst = null;
        string Probe() => p[0].Grad!.ToArray<float>().SequenceEqual(w1AfterFirst!) ? "(w1 pending)" : "(w1 done)";
        Variable[] listed = reversed ? [p[2], p[1], p[0], p[3]] : p;
        var dp = new DataParallel(new RecordingCollective(log, Probe), listed, bucketBytes: 1);
        Assert.That(dp.Buckets, Is.EqualTo(new[] { new[] { 3 }, new[] { 2 }, new[] { 1 }, new[] { 0 } }));

        for (int step = 0; step < 2; step++)
        {
            log.Clear();
            dp.Backward(TinyMlp.Loss(p, 0, 0), reduce: false);
            Assert.That(log, Is.Empty, "an earlier micro-batch starts nothing");
            w1AfterFirst = p[0].Grad!.ToArray<float>();
            dp.Backward(TinyMlp.Loss(p, 0, 1), reduce: true);
            log.Add("backward end");
            dp.FinishGradients();
            log.Add("finished");
            var waits = starts.Select(e => "wait " + e.Split(' ')[1]);
            Assert.That(log, Is.EqualTo(starts.Append("backward end").Concat(waits).Append("finished")), $"step {step}");

            // Doubled by the two "ranks", halved by the mean: the local gradients, bit for bit.
            var q = TinyMlp.Parameters(Device.Cpu);
            TinyMlp.Loss(q, 0, 0).Backward();
            TinyMlp.Loss(q, 0, 1).Backward();
            for (int i = 0; i < 3; i++) Assert.That(TinyMlp.Bits(p[i].Grad!.ToArray<float>()), Is.EqualTo(TinyMlp.Bits(q[i].Grad!.ToArray<float>())), $"parameter {i}");
            Assert.That(p[3].Grad!.ToArray<float>(), Is.EqualTo(new float[4]));
            foreach (var v in p.Concat(q)) v.ZeroGrad();
        }
    }

    /// <summary>The image classifier, one parameter a bucket: each bucket's start sees how many gradients are still to come.</summary>
    [Test]
    public void AModelsBucketsStartWhileItsBackwardPassRuns()
    {
        using var s = DisposalScope.Begin();
        var data = DataParallelTests.Data();
        var o = DataParallelTests.Options("unused");
        var task = new ClassifierTask(DataParallelTests.Tiny, o, data, null);
        var ps = task.Model.Parameters().ToList();
        var pendingAtStart = new List<int>();
        var dp = new DataParallel(new RecordingCollective([], () => { pendingAtStart.Add(ps.Count(p => p.Grad == null)); return ""; }), ps, bucketBytes: 1);
        dp.Backward(task.Loss(0, 0), reduce: true);
        dp.FinishGradients();
        TestContext.Out.WriteLine($"{ps.Count} parameters; gradients still pending at each bucket's start: {string.Join(' ', pendingAtStart)}");
        Assert.That(pendingAtStart, Has.Count.EqualTo(ps.Count));
        Assert.That(pendingAtStart, Is.Ordered.Descending);
        Assert.That(pendingAtStart[ps.Count / 2], Is.GreaterThan(0), "the first half of the buckets started before the pass ended");
    }

    [Test]
    public void TwoRanksWithAccumulationTrainBitwiseAlikeWithAndWithoutOverlap() => DataParallelTests.WithDirs(2, dirs =>
    {
        var data = DataParallelTests.Data();
        for (int k = 0; k < 2; k++)
        {
            string dir = dirs[k];
            DataParallelTests.OnRanks(2, c =>
            {
                var o = DataParallelTests.Options(dir) with { Collective = c, GradAccumulation = 2, Steps = 3, BatchSize = 8, OverlapGradientReduce = k == 0 };
                return TrainingLoop.Run(o, new ClassifierTask(DataParallelTests.Tiny, o, data, null));
            });
        }
        var on = DataParallelTests.Weights(dirs[0]);
        var off = DataParallelTests.Weights(dirs[1]);
        Assert.That(on.Keys, Is.EquivalentTo(off.Keys));
        foreach (var n in on.Keys) Assert.That(TinyMlp.Bits(on[n]), Is.EqualTo(TinyMlp.Bits(off[n])), n);
    });

    [Test]
    public void WithoutAStartedPassFinishAveragesAfterBackward()
    {
        using var s = DisposalScope.Begin();
        var p = TinyMlp.Parameters(Device.Cpu);
        var log = new List<string>();
        var dp = new DataParallel(new RecordingCollective(log, () => ""), p, bucketBytes: 100);
        TinyMlp.Loss(p, 0, 0).Backward();
        dp.FinishGradients();
        Assert.That(log, Is.EqualTo(new[] { "all_reduce 28", "all_reduce 64", "all_reduce 48" }));
        Assert.That(p[3].Grad!.ToArray<float>(), Is.EqualTo(new float[4]));
    }

    [Test]
    public void AnUnfinishedOverlappedPassIsRefused()
    {
        using var s = DisposalScope.Begin();
        var p = TinyMlp.Parameters(Device.Cpu);
        var dp = new DataParallel(new RecordingCollective([], () => ""), p, bucketBytes: 100);
        dp.Backward(TinyMlp.Loss(p, 0, 0), reduce: true);
        var e = Assert.Throws<InvalidOperationException>(() => dp.Backward(TinyMlp.Loss(p, 0, 1), reduce: true));
        Assert.That(e!.Message, Does.Contain("FinishGradients"));
    }

    /// <summary>A start that throws in the middle of the backward pass leaves nothing in flight: the next pass runs normally.</summary>
    [Test]
    public void AFailedOverlappedPassLeavesTheTrainerUsable()
    {
        using var s = DisposalScope.Begin();
        var p = TinyMlp.Parameters(Device.Cpu);
        var log = new List<string>();
        int starts = 0;
        bool fail = true;
        var dp = new DataParallel(new RecordingCollective(log, () => ++starts == 2 && fail ? throw new IOException("link down") : ""), p, bucketBytes: 1);
        var e = Assert.Throws<IOException>(() => dp.Backward(TinyMlp.Loss(p, 0, 0), reduce: true));
        Assert.That(e!.Message, Does.Contain("link down"));
        Assert.That(log.Count(l => l.StartsWith("wait", StringComparison.Ordinal)), Is.EqualTo(1), "the started bucket was waited for");
        fail = false;
        foreach (var v in p) v.ZeroGrad();
        dp.Backward(TinyMlp.Loss(p, 0, 1), reduce: true);
        dp.FinishGradients();
        var q = TinyMlp.Parameters(Device.Cpu);
        TinyMlp.Loss(q, 0, 1).Backward();
        for (int i = 0; i < 3; i++) Assert.That(TinyMlp.Bits(p[i].Grad!.ToArray<float>()), Is.EqualTo(TinyMlp.Bits(q[i].Grad!.ToArray<float>())), $"parameter {i}");
    }

    [Test]
    public void StartedAllReducesCompleteInOrderBeforeLaterCalls()
    {
        var got = DataParallelTests.OnRanks(2, c =>
        {
            using var s = DisposalScope.Begin();
            var a = Tensor.FromArray(new[] { 1f + c.Rank, 2f }, [2]);
            var b = Tensor.FromArray(new[] { 10.0 * (c.Rank + 1) }, [1]);
            var wa = c.StartAllReduceSum(a);
            var wb = c.StartAllReduceSum(b);
            var d = Tensor.FromArray(new long[] { c.Rank + 1 }, [1]);
            c.AllReduceSum(d); // runs after the two started ones
            wb.Wait();
            wa.Wait();
            wa.Wait();
            return (a.ToArray<float>(), b.ToArray<double>()[0], d.ToArray<long>()[0]);
        });
        foreach (var (a, b, d) in got)
        {
            Assert.That(a, Is.EqualTo(new[] { 3f, 4f }));
            Assert.That(b, Is.EqualTo(30.0));
            Assert.That(d, Is.EqualTo(3));
        }
    }
}
