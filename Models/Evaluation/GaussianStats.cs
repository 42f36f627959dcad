using MathNet.Numerics.LinearAlgebra;

namespace LightNet.Models.Evaluation;

/// <summary>Mean and (unbiased, n − 1) covariance of a set of feature vectors, in float64.</summary>
public sealed record GaussianStats(Vector<double> Mean, Matrix<double> Covariance, int Count)
{
    /// <summary>Statistics of <paramref name="n"/> rows of <paramref name="dim"/> features (row-major).</summary>
    public static GaussianStats Of(ReadOnlySpan<double> features, int n, int dim)
    {
        if (n < 2 || features.Length != (long)n * dim) throw new ArgumentException($"gaussian stats: need at least 2 rows of {dim} features, got {features.Length} values for {n} rows");
        var mean = new double[dim];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < dim; j++) mean[j] += features[i * dim + j];
        for (int j = 0; j < dim; j++) mean[j] /= n;
        var centred = Matrix<double>.Build.Dense(n, dim);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < dim; j++) centred[i, j] = features[i * dim + j] - mean[j];
        var cov = centred.TransposeThisAndMultiply(centred) / (n - 1);
        return new GaussianStats(Vector<double>.Build.Dense(mean), Symmetrise(cov), n);
    }

    /// <summary>(A + Aᵀ)/2.</summary>
    public static Matrix<double> Symmetrise(Matrix<double> a) => (a + a.Transpose()) * 0.5;
}
