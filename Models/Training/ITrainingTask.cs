using LightNet.Autograd;
using LightNet.Models.Nn;

namespace LightNet.Models.Training;

/// <summary>
/// What <see cref="TrainingLoop"/> trains: a model, its config and the loss of one micro-batch. The batch (and
/// any randomness such as masks or noise) must be a function of (seed, step, micro) only, so that a resumed run
/// sees exactly what an uninterrupted one sees.
/// </summary>
public interface ITrainingTask
{
    /// <summary>The model, already on the run's device.</summary>
    Module Model { get; }

    /// <summary>The model's config.json text.</summary>
    string ConfigJson { get; }

    /// <summary>What the training loss measures, for plot labels (e.g. "cross-entropy (nats per token)").</summary>
    string LossName => "cross-entropy (nats)";

    /// <summary>Items counted for throughput in one micro-batch (images or tokens).</summary>
    int ItemsPerMicroBatch { get; }

    /// <summary>Scalar loss of micro-batch <paramref name="micro"/> of optimizer step <paramref name="step"/>.</summary>
    Variable Loss(long step, int micro);

    /// <summary>Validation metrics at a step (periodic and final), or an empty dictionary.</summary>
    IReadOnlyDictionary<string, double> Evaluate(long step, bool final);
}
