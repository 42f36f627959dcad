using LightNet.Models.Evaluation;
using MathNet.Numerics.LinearAlgebra;

namespace LightNet.Tests;

public class FrechetDistanceTests
{
    private static GaussianStats Stats(double[] mean, Matrix<double> cov) => new(Vector<double>.Build.Dense(mean), cov, 100);

    [Test]
    public void DiagonalGaussiansMatchTheClosedForm()
    {
        // |μ₁−μ₂|² = 1 + 4; Tr = (1+4) + (4+9) − 2(√(1·4) + √(4·9)) = 18 − 16.
        var a = Stats([0, 0], Matrix<double>.Build.DenseOfDiagonalArray([1, 4]));
        var b = Stats([1, 2], Matrix<double>.Build.DenseOfDiagonalArray([4, 9]));
        Assert.That(FrechetDistance.Compute(a, b), Is.EqualTo(7).Within(1e-10));
        Assert.That(FrechetDistance.Compute(b, a), Is.EqualTo(7).Within(1e-10));
    }

    [Test]
    public void DistanceIsInvariantUnderACommonRotation()
    {
        double c = Math.Cos(0.7), s = Math.Sin(0.7);
        var r = Matrix<double>.Build.DenseOfArray(new[,] { { c, -s, 0 }, { s, c, 0 }, { 0, 0, 1 } });
        var s1 = Matrix<double>.Build.DenseOfDiagonalArray([1, 4, 0.25]);
        var s2 = Matrix<double>.Build.DenseOfDiagonalArray([4, 9, 1]);
        double expected = 1 + 4 + 0 + (1 + 4 + 0.25) + (4 + 9 + 1) - 2 * (2 + 6 + 0.5);
        var a = Stats((r * Vector<double>.Build.Dense([0.0, 0, 3])).ToArray(), r * s1 * r.Transpose());
        var b = Stats((r * Vector<double>.Build.Dense([1.0, 2, 3])).ToArray(), r * s2 * r.Transpose());
        Assert.That(FrechetDistance.Compute(a, b), Is.EqualTo(expected).Within(1e-9));
    }

    [Test]
    public void MatrixSquareRootSquaresBack()
    {
        var g = new Generator(3);
        using var t = Tensor.RandN([6, 4], g, DType.Float64);
        var m = Matrix<double>.Build.DenseOfColumnMajor(6, 4, t.ToArray<double>());
        var psd = m * m.Transpose(); // rank 4: two zero eigenvalues
        var root = FrechetDistance.SqrtPsd(psd);
        Assert.That((root * root - psd).FrobeniusNorm(), Is.LessThan(1e-9));
        Assert.That((root - root.Transpose()).FrobeniusNorm(), Is.EqualTo(0));
        Assert.Throws<ArgumentException>(() => FrechetDistance.SqrtPsd(Matrix<double>.Build.Dense(2, 3)));
    }

    [Test]
    public void SetWithItselfIsZeroAndSampleStatsConverge()
    {
        const int n = 20000, d = 3;
        var f = new double[n * d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) f[i * d + j] = (j + 1) * Generator.Normal(7, (ulong)(i * d + j)) + j;
        var a = GaussianStats.Of(f, n, d);
        Assert.That(FrechetDistance.Compute(a, a), Is.EqualTo(0).Within(1e-9));
        Assert.That(a.Mean.ToArray(), Is.EqualTo(new[] { 0.0, 1, 2 }).Within(0.05));
        Assert.That(a.Covariance.Diagonal().ToArray(), Is.EqualTo(new[] { 1.0, 4, 9 }).Within(0.3));
        // Shift every feature by 1: the distance is |Δμ|² = 3 (covariances equal).
        var shifted = GaussianStats.Of(f.Select(v => v + 1).ToArray(), n, d);
        Assert.That(FrechetDistance.Compute(a, shifted), Is.EqualTo(3).Within(1e-6));
        Assert.Throws<ArgumentException>(() => GaussianStats.Of(f, n + 1, d));
        Assert.Throws<ArgumentException>(() => FrechetDistance.Compute(a, GaussianStats.Of(f, n * d / 2, 2)));
    }
}
