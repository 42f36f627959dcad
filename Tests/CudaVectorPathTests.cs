namespace LightNet.Tests;

/// <summary>
/// The 16-byte vector paths of the CUDA elementwise, copy, optimizer and RMSNorm kernels against the CPU: lengths that
/// are not a multiple of the vector width (scalar tail), views at offset 1 (unaligned pointers: scalar fallback) and
/// rows held in registers up to their limit and just past it, in float32, float64 and bfloat16 (bfloat16 against the
/// float32 CPU op on the same rounded values, normalised error ≤ 1e-4).
/// </summary>
[Category("Cuda")]
public class CudaVectorPathTests
{
    private static readonly DType[] Types = [DType.Float32, DType.Float64, DType.BFloat16];

    /// <summary>
    /// N(shift, scale²) values (absolute values when <paramref name="abs"/>) rounded to <paramref name="dt"/>: a view of
    /// <paramref name="n"/> elements at offset 1 (unaligned) or 0 of a 1-D tensor, on the CPU and the same view on the GPU.
    /// </summary>
    private static (Tensor Cpu, Tensor Gpu) Input(Device dev, int n, bool unaligned, DType dt, ulong seed, double scale = 1, double shift = 0, bool abs = false)
    {
        var f = Reference.Randn([n + 1], DType.Float32, seed) * scale + shift;
        var full = (abs ? f.Abs() : f).To(dt);
        int start = unaligned ? 1 : 0;
        return (full.Narrow(0, start, n), full.To(dev).Narrow(0, start, n));
    }

    /// <summary>The CPU reference's input: the values themselves, widened to float32 for bfloat16.</summary>
    private static Tensor Ref(Tensor t) => t.DType == DType.BFloat16 ? t.To(Device.Cpu).To(DType.Float32) : t.To(Device.Cpu);

    private static void Close(Tensor gpu, Tensor cpu, DType dt, string what)
    {
        Assert.That(gpu.DType, Is.EqualTo(dt), what + ": dtype");
        var e = Gpu.NormErr(gpu.ToDoubleArray(), cpu.ToDoubleArray());
        double tol = dt == DType.BFloat16 ? 1e-4 : Gpu.Tol(dt);
        Assert.That(e, Is.LessThanOrEqualTo(tol), $"{what} ({dt.Name()}): normalised error {e:G3} > {tol:G3}");
    }

    [Test]
    public void ElementwiseAndCopy([Values(1003, 4096)] int n, [Values] bool unaligned, [ValueSource(nameof(Types))] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var (a, ga) = Input(dev, n, unaligned, dt, 1, 3);
        var (b, gb) = Input(dev, n, unaligned, dt, 2);
        var (dy, gdy) = Input(dev, n, !unaligned, dt, 3);
        Tensor ra = Ref(a), rb = Ref(b), rdy = Ref(dy);
        foreach (var op in new[] { UnaryOp.Silu, UnaryOp.Exp, UnaryOp.Tanh })
        {
            var gy = ga.Apply(op);
            Close(gy, ra.Apply(op), dt, $"{op} n={n}");
            Close(ga.ApplyBackward(op, gy, gdy), ra.ApplyBackward(op, Ref(gy), rdy), dt, $"{op} backward n={n}");
        }
        Close(Tensor.SwiGlu(ga, gb), Tensor.SwiGlu(ra, rb), dt, "swiglu");
        var (gda, gdb) = Tensor.SwiGluBackward(ga, gb, gdy);
        var (da, db) = Tensor.SwiGluBackward(ra, rb, rdy);
        Close(gda, da, dt, "swiglu backward dGate");
        Close(gdb, db, dt, "swiglu backward dUp");
        Close(ga + gb, ra + rb, dt, "add");
        Close(ga * gdy, ra * rdy, dt, "mul (one operand aligned, one not)");
        Close(Tensor.Where(gdy.Gt(0.0), ga, gb), Tensor.Where(rdy.Gt(0.0), ra, rb), dt, "where");
        foreach (var t in new[] { DType.Float32, DType.Float64, DType.Int32, DType.Int64, DType.BFloat16 })
        {
            var cpu = dt == DType.Float64 && t == DType.BFloat16 ? a.To(DType.Float32).To(t) : a.To(t); // the CPU rounds to bfloat16 from float32 only
            Assert.That(ga.To(t).To(Device.Cpu).ToDoubleArray(), Is.EqualTo(cpu.ToDoubleArray()), $"copy {dt.Name()} → {t.Name()} n={n}");
        }
    }

    [Test]
    public void OptimizerUpdates([Values(1003, 4096)] int n, [Values] bool unaligned, [ValueSource(nameof(Types))] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        var (p, gp) = Input(dev, n, unaligned, dt, 11);
        var (g, gg) = Input(dev, n, unaligned, dt, 12);
        var (m, gm) = Input(dev, n, unaligned, dt, 13, 0.1);
        var (v, gv) = Input(dev, n, unaligned, dt, 14, abs: true);
        Tensor rp = Ref(p).Clone(), rm = Ref(m).Clone(), rv = Ref(v).Clone();
        var h = new AdamWStep(1e-2, 0.9, 0.999, 1e-8, 0.1, 3);
        Optimizers.AdamW(gp, gg, gm, gv, h);
        Optimizers.AdamW(rp, Ref(g), rm, rv, h);
        Close(gp, rp, dt, "adamw param");
        Close(gm, rm, dt, "adamw m");
        Close(gv, rv, dt, "adamw v");
        Optimizers.Sgd(gp, gg, gm, 0.1, 0.9, 0.01);
        Optimizers.Sgd(rp, Ref(g), rm, 0.1, 0.9, 0.01);
        Close(gp, rp, dt, "sgd momentum param");
        Close(gm, rm, dt, "sgd momentum buffer");
        Optimizers.Sgd(gp, gg, null, 0.1, 0, 0.01);
        Optimizers.Sgd(rp, Ref(g), null, 0.1, 0, 0.01);
        Close(gp, rp, dt, "sgd param");
    }

    [Test]
    public void RmsNormRowsInRegisters([Values(1024, 1028, 1030, 4096, 8192, 8200)] int n, [Values] bool unaligned, [ValueSource(nameof(Types))] DType dt)
    {
        var dev = Gpu.Require();
        using var s = DisposalScope.Begin();
        const int rows = 5;
        (Tensor, Tensor) Rows(ulong seed)
        {
            var (c, g) = Input(dev, rows * n, unaligned, dt, seed);
            return (c.View(rows, n), g.View(rows, n));
        }
        var (x, gx) = Rows(21);
        var (u, gu) = Rows(22);
        var (dy, gdy) = Rows(23);
        var (w, gw) = Input(dev, n, false, dt, 24, 0.5, 1);
        Tensor rx = Ref(x), ru = Ref(u), rdy = Ref(dy), rw = Ref(w);
        foreach (var weight in new[] { true, false })
        {
            var (gy, grstd) = Tensor.RmsNorm(gx, weight ? gw : null, 1e-6);
            var (y, rstd) = Tensor.RmsNorm(rx, weight ? rw : null, 1e-6);
            Close(gy, y, dt, $"rms_norm n={n} weight={weight}");
            Close(grstd, rstd, dt, "rms_norm rstd");
            var (gdx, gdw) = Tensor.RmsNormBackward(gx, weight ? gw : null, grstd, gdy);
            var (dx, dw) = Tensor.RmsNormBackward(rx, weight ? rw : null, Ref(grstd), rdy);
            Close(gdx, dx, dt, $"rms_norm backward dx n={n} weight={weight}");
            if (weight) Close(gdw!, dw!, dt, "rms_norm backward dw");
        }
        var (gz, gr) = Tensor.RmsNormGate(gx, gw, gu, 1e-6);
        var (z, r) = Tensor.RmsNormGate(rx, rw, ru, 1e-6);
        Close(gz, z, dt, $"rms_norm_gate n={n}");
        var (gdx2, gdw2, gdu2) = Tensor.RmsNormGateBackward(gx, gw, gu, gr, gdy);
        var (dx2, dw2, du2) = Tensor.RmsNormGateBackward(rx, rw, ru, Ref(gr), rdy);
        Close(gdx2, dx2, dt, $"rms_norm_gate backward dx n={n}");
        Close(gdw2, dw2, dt, "rms_norm_gate backward dw");
        Close(gdu2, du2, dt, "rms_norm_gate backward du");
    }
}
