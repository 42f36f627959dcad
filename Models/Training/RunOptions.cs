using LightNet.Distributed;

namespace LightNet.Models.Training;

/// <summary>Options every training run shares (the common <c>lightnet train</c> flags).</summary>
public sealed record RunOptions
{
    /// <summary>Run directory: config.json, metrics.jsonl, model.safetensors, checkpoint/.</summary>
    public required string OutDir { get; init; }
    /// <summary>Planned length in optimizer steps (sets the schedule).</summary>
    public long Steps { get; init; } = 1000;
    /// <summary>Stop after this many steps as if interrupted, leaving a resumable checkpoint.</summary>
    public long? StopAfter { get; init; }
    /// <summary>Items (images, sequences) per micro-batch.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Micro-batches whose gradients are summed (averaged) into one optimizer step.</summary>
    public int GradAccumulation { get; init; } = 1;
    /// <summary>Peak learning rate.</summary>
    public double Lr { get; init; } = 2e-3;
    /// <summary>Linear warm-up length; null: min(200, max(1, Steps / 10)).</summary>
    public long? WarmupSteps { get; init; }
    /// <summary>Cosine floor as a fraction of the peak learning rate.</summary>
    public double MinLrRatio { get; init; } = 0.01;
    /// <summary>AdamW decoupled weight decay.</summary>
    public double WeightDecay { get; init; } = 0.05;
    /// <summary>Global gradient-norm clip (≤ 0: off).</summary>
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>Decay d of an exponential moving average of the weights (null: none), warmed up as min(d, (1 + t)/(10 + t)) after t updates; saved as model_ema.safetensors.</summary>
    public double? EmaDecay { get; init; }
    /// <summary>Seed of initialisation, data order and any per-step randomness.</summary>
    public ulong Seed { get; init; }
    /// <summary>
    /// The training configuration to record as <c>training_config.json</c> (<see cref="TrainingConfigFile"/>), written by
    /// rank 0 under the run folder's lock when the run starts; null: nothing is written (a resumed run keeps its record).
    /// </summary>
    public IReadOnlyDictionary<string, object?>? TrainingConfig { get; init; }
    /// <summary>
    /// A step whose loss or global gradient norm is not finite is skipped (no optimizer or EMA update; the step counter,
    /// the schedule and the data stream advance as usual); this many skips in a row stop the run with an
    /// <see cref="InvalidOperationException"/> (the last checkpoint kept).
    /// </summary>
    public int MaxConsecutiveSkips { get; init; } = 5;
    /// <summary>Continue from the run directory's checkpoint.</summary>
    public bool Resume { get; init; }
    /// <summary>Save a resumable checkpoint every this many steps (and at the last one).</summary>
    public int CheckpointEvery { get; init; } = 200;
    /// <summary>Write a metrics record every this many steps (and at the last one).</summary>
    public int LogEvery { get; init; } = 10;
    /// <summary>Run the task's evaluation every this many steps (null: only at the end).</summary>
    public int? EvalEvery { get; init; }
    /// <summary>Device the model and its batches live on.</summary>
    public Device Device { get; init; } = Device.Cpu;
    /// <summary>Dtype of the weights and activations of tasks whose inputs are token ids (float32 or float64).</summary>
    public DType ModelDType { get; init; } = DType.Float32;
    /// <summary>Data-parallel communicator (null: one process). <see cref="BatchSize"/> is then the global batch, split evenly over the ranks.</summary>
    public ICollective? Collective { get; init; }
    /// <summary>
    /// All-reduce each gradient bucket as soon as the last micro-batch's backward pass has finished its gradients,
    /// overlapping communication with the rest of the pass (data-parallel only); off: all buckets after the pass.
    /// The same buckets are reduced either way, so the gradients are bitwise the same.
    /// </summary>
    public bool OverlapGradientReduce { get; init; } = true;
    /// <summary>Compare the ranks' weights every this many steps (data-parallel only).</summary>
    public int CheckEvery { get; init; } = 100;

    /// <summary>This process's rank (0 without data parallelism).</summary>
    public int Rank => Collective?.Rank ?? 0;
    /// <summary>Number of data-parallel ranks.</summary>
    public int WorldSize => Collective?.WorldSize ?? 1;
    /// <summary>Rank 0 writes metrics, checkpoints and the final model.</summary>
    public bool IsRoot => Rank == 0;
    /// <summary>Items of the global batch this rank processes.</summary>
    public int LocalBatchSize => BatchSize / WorldSize;

    /// <summary>This rank's contiguous share of a global batch drawn identically on every rank.</summary>
    public T[] Shard<T>(T[] globalBatch)
    {
        if (globalBatch.Length % WorldSize != 0) throw new ArgumentException($"train: a batch of {globalBatch.Length} does not split evenly over {WorldSize} ranks");
        int n = globalBatch.Length / WorldSize;
        return globalBatch.AsSpan(Rank * n, n).ToArray();
    }

    /// <summary>This rank's contiguous rows (axis 0) of a global batch tensor drawn identically on every rank (the tensor itself with one rank).</summary>
    public Tensor ShardRows(Tensor globalBatch)
    {
        if (WorldSize == 1) return globalBatch;
        if (globalBatch.Size(0) % WorldSize != 0) throw new ArgumentException($"train: a batch of {globalBatch.Size(0)} does not split evenly over {WorldSize} ranks");
        int n = globalBatch.Size(0) / WorldSize;
        using var part = globalBatch.Narrow(0, Rank * n, n);
        return part.Contiguous();
    }

    /// <summary>Warm-up length actually used.</summary>
    public long Warmup => WarmupSteps ?? Math.Min(200, Math.Max(1, Steps / 10));

    /// <summary>Throws naming the option when a value is out of range.</summary>
    public void Validate()
    {
        if (Steps <= 0) throw new ArgumentOutOfRangeException(nameof(Steps), $"train: --steps must be positive, got {Steps}");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), $"train: --batch-size must be positive, got {BatchSize}");
        if (GradAccumulation <= 0) throw new ArgumentOutOfRangeException(nameof(GradAccumulation), $"train: --grad-accum must be positive, got {GradAccumulation}");
        if (!(Lr > 0)) throw new ArgumentOutOfRangeException(nameof(Lr), $"train: --lr must be positive, got {Lr}");
        if (CheckpointEvery <= 0 || LogEvery <= 0) throw new ArgumentOutOfRangeException(nameof(CheckpointEvery), "train: checkpoint and log intervals must be positive");
        if (BatchSize % WorldSize != 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), $"train: --batch-size {BatchSize} must be a multiple of the {WorldSize} data-parallel ranks");
        if (MaxConsecutiveSkips <= 0) throw new ArgumentOutOfRangeException(nameof(MaxConsecutiveSkips), $"train: the limit of consecutive skipped steps must be positive, got {MaxConsecutiveSkips}");
        if (EmaDecay is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(EmaDecay), $"train: --ema must be in [0, 1), got {EmaDecay}");
    }
}
