using LightNet.Autograd;
using LightNet.Models.Nn;
using NUnit.Framework;

namespace LightNet.Examples.CustomOpGradCheck;

[TestFixture]
public class CustomOpTests
{
    [Test]
    public void MishMatchesItsDefinition()
    {
        using var scope = DisposalScope.Begin();
        double[] xs = [-30, -2.5, -0.5, 0, 0.5, 2.5, 30];
        var y = CustomOps.Mish(new Variable(Tensor.FromArray(xs))).Data.ToDoubleArray();
        for (int i = 0; i < xs.Length; i++)
            Assert.That(y[i], Is.EqualTo(xs[i] * Math.Tanh(Math.Log(1 + Math.Exp(xs[i])))).Within(1e-12), $"x = {xs[i]}");
    }

    [Test]
    public void MishGradCheck()
    {
        using var scope = DisposalScope.Begin();
        var x = Tensor.RandN([4, 5], new Generator(1), DType.Float64, std: 3);
        var r = GradCheck.Check(v => CustomOps.Mish(v[0]), [x]);
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void CosineSimilarityGradCheckWithBroadcasting()
    {
        using var scope = DisposalScope.Begin();
        var a = Tensor.RandN([3, 4, 6], new Generator(2), DType.Float64);
        var b = Tensor.RandN([4, 6], new Generator(3), DType.Float64);   // broadcast over a's first axis
        var r = GradCheck.Check(v => CustomOps.CosineSimilarity(v[0], v[1]), [a, b]);
        Assert.That(r.Passed, Is.True, r.Report);
    }

    [Test]
    public void LayerWithTheCustomOpGradCheck()
    {
        // The op inside a module: gradients of a float64 Linear layer's parameters through Mish and a mean.
        using var scope = DisposalScope.Begin();
        var layer = new Linear(5, 3, bias: true, new Generator(4), std: 0.5, dtype: DType.Float64);
        using var x = new Variable(Tensor.RandN([8, 5], new Generator(5), DType.Float64));
        var r = GradCheck.CheckParameters(() => CustomOps.Mish(layer.Forward(x)).Square().Mean(), [.. layer.Parameters()]);
        Assert.That(r.Passed, Is.True, r.Report);
    }
}
