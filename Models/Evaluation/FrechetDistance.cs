using MathNet.Numerics.LinearAlgebra;

namespace LightNet.Models.Evaluation;

/// <summary>
/// Fréchet distance between two Gaussians, <c>|μ₁−μ₂|² + Tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½)</c>. On the features of a
/// trained classifier it is a proxy of FID (FID uses Inception-v3 features; the numbers are not comparable to it).
/// Square roots come from symmetric eigendecompositions with negative round-off eigenvalues clamped to 0.
/// </summary>
public static class FrechetDistance
{
    /// <summary>Distance between two feature distributions (≥ 0 up to round-off); throws <see cref="ArgumentException"/> when their feature sizes differ.</summary>
    public static double Compute(GaussianStats a, GaussianStats b)
    {
        if (a.Mean.Count != b.Mean.Count) throw new ArgumentException($"frechet distance: feature sizes differ ({a.Mean.Count} vs {b.Mean.Count})");
        var d = a.Mean - b.Mean;
        var s1 = SqrtPsd(a.Covariance);
        var inner = GaussianStats.Symmetrise(s1 * b.Covariance * s1);
        double trSqrt = inner.Evd(Symmetricity.Symmetric).EigenValues.Sum(e => Math.Sqrt(Math.Max(0, e.Real)));
        return d.DotProduct(d) + a.Covariance.Trace() + b.Covariance.Trace() - 2 * trSqrt;
    }

    /// <summary>The symmetric positive semi-definite square root: V·diag(√max(λ, 0))·Vᵀ.</summary>
    public static Matrix<double> SqrtPsd(Matrix<double> a)
    {
        if (a.RowCount != a.ColumnCount) throw new ArgumentException($"matrix square root: {a.RowCount}×{a.ColumnCount} is not square");
        var evd = GaussianStats.Symmetrise(a).Evd(Symmetricity.Symmetric);
        var v = evd.EigenVectors;
        var sq = Vector<double>.Build.Dense(a.RowCount, i => Math.Sqrt(Math.Max(0, evd.EigenValues[i].Real)));
        return GaussianStats.Symmetrise(v * Matrix<double>.Build.DiagonalOfDiagonalVector(sq) * v.Transpose());
    }
}
