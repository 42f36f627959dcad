using LightNet.Models.Diffusion;
using LightNet.Models.LightNet;
using LightNet.Models.Training;

namespace LightNet.Models.Evaluation;

/// <summary>
/// Scores of a class-conditional generator measured with a trained classifier: the fraction of samples it labels as
/// their class, the classifier's own test accuracy, and Fréchet distances (<see cref="FrechetDistance"/>) to the test
/// set for the samples and for two references computed the same way (N training images; N noise images, the
/// sampler's starting noise clamped to the pixel range).
/// </summary>
public sealed record GenerationScores(int Samples, double SampleAccuracy, double ClassifierTestAccuracy, double FdSamples, double FdTrain, double FdNoise);

/// <summary>Computes <see cref="GenerationScores"/>.</summary>
public static class GenerationEvaluation
{
    /// <summary>
    /// Draws <paramref name="n"/> samples (classes balanced) and scores them against <paramref name="test"/>; images
    /// reach the classifier in [0, 1] (samples mapped from [−1, 1] and clamped).
    /// </summary>
    public static GenerationScores Run(LightNetDiT dit, LightNetForImageClassification classifier, IImageDataset train, IImageDataset test,
        int n, DdimSampler sampler, ulong seed, Device device, Action<int>? progress = null, int batch = 250)
    {
        var cfg = dit.Config;
        if (n < 2 || n > train.Count) throw new ArgumentOutOfRangeException(nameof(n), $"eval generate: --samples must be in 2..{train.Count}, got {n}");
        int per = cfg.InChannels * cfg.ImageHeight * cfg.ImageWidth;
        int dim = classifier.Config.HiddenSize;

        var (testFeat, testPred, testLab) = ClassifierTraining.FeaturesAndPredictions(classifier, test, batch, device);
        var testStats = GaussianStats.Of(testFeat, test.Count, dim);

        var labels = ImageSampling.Balanced(cfg.NumClasses, n);
        var samples = ImageSampling.Sample(dit, device, sampler, labels, seed, batch, progress);
        var (sampleFeat, samplePred, _) = ClassifierTraining.FeaturesAndPredictions(classifier, Unit(samples, labels, cfg), batch, device);

        var pick = EpochSampler.Permutation(train.Count, seed, 0).AsSpan(0, n).ToArray();
        var (trainX, trainY) = train.Batch(pick);
        using (trainX)
        using (trainY)
        {
            var trainFeat = ClassifierTraining.FeaturesAndPredictions(classifier, new ArrayImageDataset(trainX.ToArray<float>(), trainY.ToArray<long>(),
                train.Channels, train.Height, train.Width, train.Classes), batch, device).Features;
            var noise = DdimSampler.InitialNoise(seed, 0, n, per);
            var noiseFeat = ClassifierTraining.FeaturesAndPredictions(classifier, Unit(noise, labels, cfg), batch, device).Features;
            return new GenerationScores(n,
                ClassifierTraining.Accuracy(samplePred, labels),
                ClassifierTraining.Accuracy(testPred, testLab),
                FrechetDistance.Compute(GaussianStats.Of(sampleFeat, n, dim), testStats),
                FrechetDistance.Compute(GaussianStats.Of(trainFeat, n, dim), testStats),
                FrechetDistance.Compute(GaussianStats.Of(noiseFeat, n, dim), testStats));
        }
    }

    /// <summary>Images in [−1, 1] as a data set in [0, 1] (clamped).</summary>
    private static ArrayImageDataset Unit(float[] images, long[] labels, DiTConfig cfg)
    {
        var px = new float[images.Length];
        for (int i = 0; i < px.Length; i++) px[i] = Math.Clamp((images[i] + 1) / 2, 0f, 1f);
        return new ArrayImageDataset(px, labels, cfg.InChannels, cfg.ImageHeight, cfg.ImageWidth, cfg.NumClasses);
    }
}
