/**
 * A pretraining run in one process (`forge train`): the worker's rank-job step on the whole global
 * batch (rank 0 of 1, {@link SINGLE_PROCESS}: no communication), with the cluster's evaluation,
 * samples and checkpoint format. Same spec, same data order, same evaluation: the step losses of a
 * run here equal those of the same spec on a cluster of any size (within float rounding).
 */
import { SINGLE_PROCESS } from '../collective/gradient-collective';
import { TrainingLoop, type StepMetrics } from '../loop/training-loop';
import { PretrainingReplica } from './pretraining-replica';
import type { PretrainingEval } from './pretraining-steps';
import type { Replica } from './replica';

/** Callbacks of {@link trainAlone}. */
export interface TrainAloneEvents {
  onStep?(metrics: StepMetrics & { totalSteps: number; tokensPerSecond: number }): void;
  /** After the steps the coordinator would evaluate (every `evalEvery`-th and the last). */
  onEval?(record: PretrainingEval & { step: number; sample: string }): void;
}

/** What a finished (or interrupted) run did. */
export interface TrainAloneSummary {
  /** Global loss of every step of this invocation, in order. */
  stepLosses: number[];
  /** Tokens per second of every step of this invocation. */
  tokensPerSecond: number[];
  evals: Array<PretrainingEval & { step: number }>;
  /** The sample of the last evaluation. */
  sample?: string;
  /** Optimizer steps done (those before a resume included). */
  steps: number;
}

/**
 * Trains `replica` to `replica.spec.steps` (or until `signal` aborts, checked between steps so the
 * state stays resumable). Evaluates and samples after the same steps as a cluster run: it is a
 * worker's {@link PretrainingReplica} at rank 0 of 1, without step checkpoints. Yields to the event
 * loop between steps, so progress output and signals are served.
 */
export async function trainAlone(
  replica: Replica,
  events: TrainAloneEvents = {},
  signal?: AbortSignal,
): Promise<TrainAloneSummary> {
  const totalSteps = replica.spec.steps;
  const job = new PretrainingReplica(replica);
  const loop = new TrainingLoop(replica.trainer, SINGLE_PROCESS, job.loopOptions);
  await job.join(loop, 0, 1);
  const summary: TrainAloneSummary = {
    stepLosses: [],
    tokensPerSecond: [],
    evals: [],
    steps: loop.stepsDone,
  };
  while (loop.stepsDone < totalSteps) {
    await new Promise((resolve) => setImmediate(resolve));
    if (signal?.aborted) break;
    const started = performance.now();
    const metrics = await loop.step(job.share(loop.stepsDone));
    const tokensPerSecond = metrics.tokens / Math.max((performance.now() - started) / 1000, 1e-9);
    summary.stepLosses.push(metrics.loss);
    summary.tokensPerSecond.push(tokensPerSecond);
    events.onStep?.({ ...metrics, totalSteps, tokensPerSecond });
    const report = await job.afterStep();
    if (report.eval) {
      const record = { step: loop.stepsDone, ...report.eval };
      summary.evals.push(record);
      summary.sample = report.sample ?? '';
      events.onEval?.({ ...record, sample: summary.sample });
    }
  }
  summary.steps = loop.stepsDone;
  return summary;
}
