using System.Diagnostics;
using LightNet.Distributed;
using LightNet.Models.Optim;

namespace LightNet.Models.Training;

/// <summary>What a progress callback sees.</summary>
public readonly record struct TrainProgressInfo(long Step, long Total, double Loss, double ItemsPerSecond, TimeSpan Eta, bool Skipped = false, long SkippedSteps = 0);

/// <summary>
/// Outcome of a run: steps done, whether the planned length was reached, the last loss and the final evaluation;
/// <paramref name="FinishedBefore"/> when a resumed run had already reached its length, and nothing was done or written.
/// </summary>
public sealed record TrainResult(long StepsDone, bool Finished, double LastLoss, IReadOnlyDictionary<string, double> Metrics, bool FinishedBefore = false, long SkippedSteps = 0);

/// <summary>
/// The training loop every task shares: AdamW with warm-up + cosine schedule, gradient accumulation, clipping
/// by global norm, an optional weight EMA, <c>metrics.jsonl</c>, periodic atomic checkpoints (weights,
/// optimizer and EMA state, step) and, at the end, <c>model.safetensors</c> (+ <c>model_ema.safetensors</c>).
/// With <see cref="RunOptions.Resume"/> it continues from the checkpoint and yields bitwise the weights of an
/// uninterrupted run (deterministic kernels; batches a function of seed and step). With a
/// <see cref="RunOptions.Collective"/> it trains data-parallel: each rank computes its shard of every batch,
/// gradients are averaged over ranks (<see cref="DataParallel"/>; the all-reduces overlap the last micro-batch's backward pass), and only rank 0 writes files; a checkpoint holds
/// the full state, so a run resumes with the same or a different number of ranks.
/// </summary>
public static class TrainingLoop
{
    /// <summary>
    /// Trains <paramref name="task"/> with the options <paramref name="o"/>; <paramref name="onProgress"/> runs after every step on rank 0.
    /// Throws <see cref="InvalidOperationException"/> on an existing checkpoint without Resume, a checkpoint of other steps or seed, or
    /// <see cref="RunOptions.MaxConsecutiveSkips"/> steps in a row skipped.
    /// A step whose mean loss or global gradient norm (after the all-reduce, before clipping) is not finite is skipped: no
    /// optimizer step, no EMA update, its gradients dropped; the step counter and with it the schedule and the data (a
    /// function of seed and step) advance as for any other step, so a resumed run is bitwise the uninterrupted one. It is
    /// said on standard error and in <see cref="TrainProgressInfo.Skipped"/>, and the run's total is in the metrics record
    /// of each later logged step as <c>skipped_steps</c> (absent while none was skipped); the counts live in the checkpoint's progress.json.
    /// </summary>
    public static TrainResult Run(RunOptions o, ITrainingTask task, Action<TrainProgressInfo>? onProgress = null)
    {
        o.Validate();
        // Rank 0 writes the folder: it holds the folder's exclusive lock for the whole run (a second writer gets a named error).
        using var runLock = o.IsRoot ? RunLock.Acquire(o.OutDir) : null;
        var model = task.Model;
        var dp = new DataParallel(o.Collective ?? new SingleProcess(), model.Parameters().ToList());
        var opt = new AdamW(model.Parameters(), o.Lr, weightDecay: o.WeightDecay);
        using var ema = o.EmaDecay is double decay ? new ExponentialMovingAverage(model.Parameters(), decay) : null;
        var metrics = new MetricsLog(o.OutDir);
        long step = 0, skipped = 0, inARow = 0;
        if (TrainingCheckpoint.Exists(o.OutDir))
        {
            if (!o.Resume) throw new InvalidOperationException($"train: {o.OutDir} already holds a checkpoint; pass --resume to continue it or choose another --out");
            var p = TrainingCheckpoint.Load(o.OutDir, model, opt, ema);
            if (p.TotalSteps != o.Steps || p.DataSeed != o.Seed)
                throw new InvalidOperationException($"train: the checkpoint was made for --steps {p.TotalSteps} --seed {p.DataSeed}; resume with the same values");
            step = p.Step;
            skipped = p.SkippedSteps ?? 0;
            inARow = p.ConsecutiveSkips ?? 0;
            bool done = TrainingCheckpoint.IsFinished(o.OutDir, ema != null);
            // The log back to exactly the checkpoint's records (a torn last line and what was logged after it dropped);
            // a finished run keeps every record and loses only a torn last line.
            if (o.IsRoot && done) metrics.TruncateTo(long.MaxValue);
            else if (o.IsRoot && p.MetricsRecords is long records) metrics.TruncateTo(records);
            else if (o.IsRoot) metrics.TruncateAfter(step);
            if (done) return new TrainResult(step, true, double.NaN, new Dictionary<string, double>(), FinishedBefore: true);
        }
        else if (o.IsRoot) metrics.TruncateTo(0);   // records of an earlier attempt that never reached a checkpoint
        if (o.IsRoot && o.TrainingConfig != null) TrainingConfigFile.Write(o.OutDir, o.TrainingConfig);
        dp.BroadcastParameters();
        if (o.IsRoot) global::LightNet.IO.DurableFile.WriteAtomic(Path.Combine(o.OutDir, "config.json"), task.ConfigJson);
        long stopAt = Math.Min(o.Steps, o.StopAfter ?? o.Steps);
        var sw = Stopwatch.StartNew();
        long startStep = step;
        double lastLoss = double.NaN;
        long itemsPerStep = (long)task.ItemsPerMicroBatch * o.GradAccumulation * o.WorldSize;
        while (step < stopAt)
        {
            opt.Lr = Schedules.WarmupCosine(step, o.Warmup, o.Steps, o.Lr, o.Lr * o.MinLrRatio);
            double sum = 0;
            for (int m = 0; m < o.GradAccumulation; m++)
            {
                using var scope = DisposalScope.Begin();
                var loss = task.Loss(step, m);
                if (!(loss.Data.Numel == 1)) throw new InvalidOperationException($"train: the task's loss must be a scalar, got shape {loss.Data.Shape}");
                var scaled = o.GradAccumulation == 1 ? loss : loss * (1.0 / o.GradAccumulation);
                // The last micro-batch's pass completes the gradients: its buckets are all-reduced while it runs.
                dp.Backward(scaled, reduce: o.OverlapGradientReduce && m == o.GradAccumulation - 1);
                sum += loss.Data.Item();
            }
            dp.FinishGradients();
            // Identical on every rank (the gradients are all-reduced, the loss averaged), so all ranks skip together.
            double meanLoss = dp.Mean(sum / o.GradAccumulation);
            double norm = opt.GradNorm();
            bool skip = !double.IsFinite(meanLoss) || !double.IsFinite(norm);
            if (skip)
            {
                skipped++;
                inARow++;
                if (o.IsRoot) Console.Error.WriteLine($"train: step {step + 1} skipped: {(double.IsFinite(meanLoss) ? $"gradient norm {norm}" : $"loss {meanLoss}")} ({inARow} in a row, {skipped} in all)");
                if (inARow >= o.MaxConsecutiveSkips)
                    throw new InvalidOperationException($"train: {inARow} steps in a row (up to step {step + 1}) had a non-finite loss or gradient (last: loss {meanLoss}, gradient norm {norm}); lower --lr or check the data (last checkpoint kept)");
            }
            else
            {
                inARow = 0;
                if (o.ClipNorm > 0) opt.ClipGradNorm(o.ClipNorm, norm);
                opt.Step();
                ema?.Update();
            }
            opt.ZeroGrad();
            lastLoss = meanLoss;
            step++;
            double rate = (step - startStep) * itemsPerStep / Math.Max(1e-9, sw.Elapsed.TotalSeconds);
            if (step % o.CheckEvery == 0 || step == stopAt) dp.CheckAgreement(step);
            if (!o.IsRoot) continue;
            if (step % o.LogEvery == 0 || step == stopAt)
            {
                // JSON has no NaN: a skipped step's non-finite loss is written as a string ("NaN", "Infinity").
                var rec = new Dictionary<string, object> { ["step"] = step, ["loss"] = double.IsFinite(lastLoss) ? lastLoss : lastLoss.ToString(System.Globalization.CultureInfo.InvariantCulture), ["lr"] = opt.Lr, ["items_per_s"] = Math.Round(rate, 1) };
                if (skipped > 0) rec["skipped_steps"] = skipped;
                metrics.Write(rec);
            }
            if (o.EvalEvery is int every && step % every == 0 && step < o.Steps)
                WriteEval(metrics, step, task.Evaluate(step, final: false));
            onProgress?.Invoke(new TrainProgressInfo(step, o.Steps, lastLoss, rate, TimeSpan.FromSeconds((stopAt - step) * itemsPerStep / Math.Max(1e-9, rate)), skip, skipped));
            if (step % o.CheckpointEvery == 0 || step == stopAt)
                TrainingCheckpoint.Save(o.OutDir, model, opt, ema, new TrainingProgress(step, o.Steps, o.Seed, metrics.Count, SkippedSteps: skipped > 0 ? skipped : null, ConsecutiveSkips: inARow > 0 ? inARow : null));
        }
        bool finished = step >= o.Steps;
        IReadOnlyDictionary<string, double> final = new Dictionary<string, double>();
        if (finished && o.IsRoot)
        {
            // The final evaluation's record first, the final weights last: a run interrupted anywhere in between resumes
            // from the last checkpoint (its log truncated to that checkpoint's records) and redoes this whole block.
            final = task.Evaluate(step, final: true);
            WriteEval(metrics, step, final);
            Checkpoint.Save(o.OutDir, model, task.ConfigJson);
            if (ema != null) Checkpoint.SaveWeights(Path.Combine(o.OutDir, "model_ema.safetensors"), model.NamedParameters().Select(p => p.Name), ema.Shadow);
        }
        return new TrainResult(step, finished, lastLoss, final, SkippedSteps: skipped);
    }

    private static void WriteEval(MetricsLog log, long step, IReadOnlyDictionary<string, double> values)
    {
        if (values.Count == 0) return;
        var rec = new Dictionary<string, object> { ["step"] = step };
        foreach (var (k, v) in values) rec[k] = v;
        log.Write(rec);
    }
}
