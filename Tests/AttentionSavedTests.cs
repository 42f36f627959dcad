namespace LightNet.Tests;

/// <summary>The causal attention's forward keeps k̄, decays and chunk states for its backward: same gradients as recomputing them.</summary>
[Category("Kernels")]
public class AttentionSavedTests
{
    private static void SavedEqualsRecomputed(Device dev, DType dt, bool withState, bool tokensMajor)
    {
        using var s = DisposalScope.Begin();
        int B = 2, H = 3, T = 150, d = 16, e = 24;
        Tensor In(Tensor x) => tokensMajor ? HeadLayoutTests.TokensMajor(x.To(dev)) : x.To(dev);
        var q = In(Reference.Randn([B, H, T, d], dt, 601).Silu());
        var k = In(Reference.Randn([B, H, T, d], dt, 602) * 2);
        var v = In(Reference.Randn([B, H, T, e], dt, 603));
        var dO = In(Reference.Randn([B, H, T, e], dt, 604));
        var s0 = withState ? Reference.Randn([B, H, d, e], dt, 605).To(dev) : null;
        var z0 = withState ? Reference.Randn([B, H, d], dt, 606).To(dev) : null;
        using var saved = new AttentionSaved();
        var (o, st, zt) = AdditiveAttention.CausalForward(q, k, v, 0.3, s0, z0, save: saved);
        Assert.That(saved.Count, Is.EqualTo(dev.Kind == DeviceKind.Cuda ? 5 : 0), "CUDA keeps k̄, G, flags, states, scores; the CPU nothing");
        var (o2, st2, zt2) = AdditiveAttention.CausalForward(q, k, v, 0.3, s0, z0);
        Assert.That(o.ToDoubleArray(), Is.EqualTo(o2.ToDoubleArray()), "o");
        Assert.That(st.ToDoubleArray(), Is.EqualTo(st2.ToDoubleArray()), "S_T");
        Assert.That(zt.ToDoubleArray(), Is.EqualTo(zt2.ToDoubleArray()), "Z_T");
        var a = AdditiveAttention.CausalBackward(q, k, v, 0.3, s0, z0, dO, saved: saved);
        var b = AdditiveAttention.CausalBackward(q, k, v, 0.3, s0, z0, dO);
        foreach (var (x, y, what) in new[] { (a.Dq, b.Dq, "dq"), (a.Dk, b.Dk, "dk"), (a.Dv, b.Dv, "dv") })
            Assert.That(x.ToDoubleArray(), Is.EqualTo(y.ToDoubleArray()), what);
        if (withState)
        {
            Assert.That(a.DS0!.ToDoubleArray(), Is.EqualTo(b.DS0!.ToDoubleArray()), "dS0");
            Assert.That(a.DZ0!.ToDoubleArray(), Is.EqualTo(b.DZ0!.ToDoubleArray()), "dZ0");
        }
    }

    [Test]
    public void ConvertedInputsAreKeptForTheSameTensorsOnly()
    {
        using var s = DisposalScope.Begin();
        var q = Tensor.Zeros([2, 3]); var k = Tensor.Zeros([2, 3]); var v = Tensor.Zeros([2, 3]);
        var packed = new[] { Tensor.Ones([2, 3]), Tensor.Ones([2, 3]), Tensor.Ones([2, 3]) };
        var saved = new AttentionSaved();
        Assert.That(saved.Packed(q, k, v), Is.Null, "nothing kept yet");
        saved.KeepPacked([q, k, v], packed);
        Assert.That(saved.Packed(q, k, v), Is.SameAs(packed));
        Assert.That(saved.Packed(q, v, k), Is.Null, "other tensors (or another order) get nothing");
        Assert.That(saved.Packed(q.Clone(), k, v), Is.Null, "equal values are not the same tensor");
        saved.Keep("backend", Tensor.Ones([1]));
        Assert.That(saved.Packed(q, k, v), Is.SameAs(packed), "the backend's tensors replace only their own");
        Assert.That(saved.Count, Is.EqualTo(1));
        saved.Dispose();
        Assert.That(packed.All(t => t.IsDisposed), "disposing frees the kept copies");
        Assert.That(saved.Packed(q, k, v), Is.Null);
    }

    [Test]
    public void CpuKeepsNothingAndRecomputes([Values(false, true)] bool withState) => SavedEqualsRecomputed(Device.Cpu, DType.Float64, withState, tokensMajor: true);

    [Test]
    [Category("Cuda")]
    public void CudaSavedEqualsRecomputed([Values(false, true)] bool withState, [Values(DType.Float32, DType.Float64)] DType dt, [Values] bool tokensMajor) =>
        SavedEqualsRecomputed(Gpu.Require(), dt, withState, tokensMajor);

    /// <summary>bfloat16 q, k, v on the CPU (float32 kernels): the forward's float32 copies go to the backward, which converts nothing again.</summary>
    [Test]
    public void CpuBf16InputsAreConvertedOnceForForwardAndBackward() => Bf16InputsWithSavedState(Device.Cpu);

    /// <summary>bfloat16 q, k, v on the GPU: the kernels read them as they are (no copies kept), the backend keeps its float32 k̄, decays, states and scores.</summary>
    [Test]
    [Category("Cuda")]
    public void CudaBf16InputsAreReadAsTheyAre() => Bf16InputsWithSavedState(Gpu.Require());

    private static void Bf16InputsWithSavedState(Device dev)
    {
        using var s = DisposalScope.Begin();
        Tensor Bf(Tensor x) => x.To(DType.BFloat16).To(dev);
        var q = Bf(Reference.Randn([2, 3, 90, 16], DType.Float32, 621));
        var k = Bf(Reference.Randn([2, 3, 90, 16], DType.Float32, 622));
        var v = Bf(Reference.Randn([2, 3, 90, 8], DType.Float32, 623));
        var dO = Bf(Reference.Randn([2, 3, 90, 8], DType.Float32, 624));
        bool native = q.Backend.AdditiveOperandDType(DType.BFloat16) == DType.BFloat16;
        Assert.That(native, Is.EqualTo(dev.Kind == DeviceKind.Cuda), "only the CUDA kernels read bfloat16 themselves");
        using var saved = new AttentionSaved();
        AdditiveAttention.CausalForward(q, k, v, 0.5, save: saved);
        var packed = saved.Packed(q, k, v);
        if (native)
        {
            Assert.That(packed, Is.Null, "no float32 copies of bfloat16 q, k, v");
            Assert.That(saved.Count, Is.EqualTo(5), "k̄, G, flags, states, scores");
        }
        else
        {
            Assert.That(packed, Is.Not.Null, "the forward keeps its float32 copies of bfloat16 q, k, v");
            Assert.That(packed!.Select(t => t.DType), Is.All.EqualTo(DType.Float32));
            Assert.That(saved.Packed(k, q, v), Is.Null, "kept only for the same tensors");
        }
        var a = AdditiveAttention.CausalBackward(q, k, v, 0.5, null, null, dO, saved: saved);
        var b = AdditiveAttention.CausalBackward(q, k, v, 0.5, null, null, dO);
        foreach (var (x, y, what) in new[] { (a.Dq, b.Dq, "dq"), (a.Dk, b.Dk, "dk"), (a.Dv, b.Dv, "dv") })
        {
            Assert.That(x.DType, Is.EqualTo(DType.BFloat16), what);
            Assert.That(x.ToDoubleArray(), Is.EqualTo(y.ToDoubleArray()), what);
        }
        saved.Dispose();
        if (packed != null) Assert.That(packed.All(t => t.IsDisposed), "disposing the saved state frees the copies");
    }

    [Test]
    [Category("Cuda")]
    public void CudaSavedTensorsLiveInTheForwardsScope()
    {
        var dev = Gpu.Require();
        using var outer = DisposalScope.Begin();
        var q = Reference.Randn([1, 2, 70, 8], DType.Float32, 611).To(dev);
        var v = Reference.Randn([1, 2, 70, 8], DType.Float32, 612).To(dev);
        var dO = Reference.Randn([1, 2, 70, 8], DType.Float32, 613).To(dev);
        using var saved = new AttentionSaved();
        long live;
        using (DisposalScope.Begin())
        {
            live = MemoryStats.LiveTensors;
            AdditiveAttention.CausalForward(q, q, v, 1.0, save: saved);
            Assert.That(saved.Count, Is.EqualTo(5));
        }
        // The forward's scope freed the kept tensors with its other results (a forward whose backward never runs leaks
        // nothing); a backward handed them afterwards recomputes and gives the same gradients.
        Assert.That(MemoryStats.LiveTensors, Is.EqualTo(live));
        var a = AdditiveAttention.CausalBackward(q, q, v, 1.0, null, null, dO, saved: saved);
        var b = AdditiveAttention.CausalBackward(q, q, v, 1.0, null, null, dO);
        Assert.That(a.Dq.ToDoubleArray(), Is.EqualTo(b.Dq.ToDoubleArray()));
        Assert.That(a.Dv.ToDoubleArray(), Is.EqualTo(b.Dv.ToDoubleArray()));
    }
}
