using BenchmarkDotNet.Attributes;
using LightNet.Autograd;

namespace LightNet.Perf;

/// <summary>BenchmarkDotNet: fp32 matrix products (report GFLOP/s = 2·m·n·k / time).</summary>
[MemoryDiagnoser]
public class MatmulBench : IDisposable
{
    private Tensor _a = null!, _b = null!;

    /// <summary>Side n of the square operands.</summary>
    [Params(256, 1024)]
    public int N { get; set; }

    /// <summary>Draws the two n×n operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _a = Tensor.RandN([N, N], new Generator(1));
        _b = Tensor.RandN([N, N], new Generator(2));
    }

    /// <summary>One n×n by n×n product.</summary>
    [Benchmark]
    public void Matmul() => Tensor.Matmul(_a, _b).Dispose();

    /// <summary>Frees the operands.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _a?.Dispose();
        _b?.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>BenchmarkDotNet: memory-bound elementwise ops and reductions on 16 M floats.</summary>
public class ElementwiseBench : IDisposable
{
    private Tensor _x = null!, _y = null!;

    /// <summary>Draws the two 16 M-float operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _x = Tensor.RandN([16 << 20], new Generator(1));
        _y = Tensor.RandN([16 << 20], new Generator(2));
    }

    /// <summary>x + y.</summary>
    [Benchmark] public void Add() => (_x + _y).Dispose();
    /// <summary>exp(x).</summary>
    [Benchmark] public void Exp() => _x.Exp().Dispose();
    /// <summary>Sum of x.</summary>
    [Benchmark] public void Sum() => _x.Sum().Dispose();

    /// <summary>Frees the operands.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _x?.Dispose();
        _y?.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>BenchmarkDotNet: causal additive attention forward and forward+backward, B=4, H=8, d=e=64.</summary>
public class AttentionBench : IDisposable
{
    private Variable _q = null!, _k = null!, _v = null!;
    private Tensor _do = null!;

    /// <summary>Sequence length.</summary>
    [Params(2048)]
    public int T { get; set; }

    /// <summary>Draws q, k, v and the output gradient [4, 8, T, 64].</summary>
    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(3);
        _q = new Variable(Tensor.RandN([4, 8, T, 64], g), true);
        _k = new Variable(Tensor.RandN([4, 8, T, 64], g), true);
        _v = new Variable(Tensor.RandN([4, 8, T, 64], g), true);
        _do = Tensor.RandN([4, 8, T, 64], g);
    }

    /// <summary>Forward only, without recording a graph.</summary>
    [Benchmark]
    public void Forward()
    {
        using var s = DisposalScope.Begin();
        using var ng = NoGrad.Scope();
        AttentionOps.AdditiveCausal(_q, _k, _v, 0.125);
    }

    /// <summary>Forward, then backward of a given output gradient.</summary>
    [Benchmark]
    public void ForwardBackward()
    {
        using (DisposalScope.Begin()) AttentionOps.AdditiveCausal(_q, _k, _v, 0.125).Backward(_do);
        _q.ZeroGrad(); _k.ZeroGrad(); _v.ZeroGrad();
    }

    /// <summary>Frees the inputs.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _q?.Dispose(); _k?.Dispose(); _v?.Dispose(); _do?.Dispose();
        GC.SuppressFinalize(this);
    }
}
