/**
 * The optimizer step of every kind of training, the same for world size 1 as for N.
 *
 * Every rank holds a full replica (a {@link Trainer}: parameters, gradients, AdamW state) and, at
 * step s, its share of the global batch ({@link LocalShare}): the gradient of the mean loss over its
 * share, scaled by the share's weight w_r, summed over the ranks, is Σ_r w_r · ∇mean_r = ∇(mean over
 * the global batch), because the weights are each share's part of that mean. So every rank applies
 * the identical clipped AdamW update and the replicas stay bit-identical (the collective gives every
 * rank the same bytes); a checksum all-gather every K steps verifies that. At world size 1 the
 * collective is {@link SINGLE_PROCESS}: w = 1 and nothing is sent.
 *
 * Pretraining (`forge train`, a worker's rank jobs) and finetuning (`forge finetune`, finetune jobs)
 * drive their steps through this class; they differ only in the share they pass and in what they do
 * between steps (evaluation, checkpoints, history).
 */
import type { WireDType } from '@llm-forge/collective';
import { TrainingDivergedError, type Trainer } from '@llm-forge/gpt';
import { checksum, scale, settleHugePages } from '@llm-forge/tfjs-backend-native';
import type { GradientCollective, ReduceOptions } from '../collective/gradient-collective';
import { ReplicaDivergenceError } from '../errors/replica-divergence-error';
import type { LocalShare } from './local-share';
import type { OuterOptimizer } from './outer-optimizer';
import { OverlappedGradients } from './overlapped-gradients';

/** Options of a {@link TrainingLoop}; every rank must pass the same values. */
export interface TrainingLoopOptions {
  /**
   * Compare parameter checksums across ranks after every `verifyEvery`-th step; 0 never does, and
   * neither does a single process (one replica has nothing to compare with).
   * @defaultValue 100
   */
  verifyEvery?: number;
  /**
   * Wire encoding of the gradients (DiLoCo: of the pseudo-gradients); the loss and checksums always
   * travel as f32. @defaultValue the collective's
   */
  wireDType?: WireDType;
  /**
   * DiLoCo instead of synchronous data parallelism: each rank takes its inner AdamW steps on the
   * mean loss of its own share, and every `innerSteps` steps (and at `finalStep`) the ranks average
   * their pseudo-gradients and take an outer Nesterov step with this {@link OuterOptimizer} (owned
   * by the replica, so its state outlives a ring generation). Absent: gradients are summed every
   * step (DDP).
   */
  outer?: OuterOptimizer;
  /**
   * DDP: sum the gradients over the ranks while backward runs (buckets, see
   * {@link OverlappedGradients}) instead of after it. Applies to next-token batches of equal size
   * at world size > 1. @defaultValue true
   */
  overlap?: boolean;
  /** Gradient bytes per overlapped bucket. @defaultValue 8 MiB */
  bucketBytes?: number;
}

/** What one optimizer step did, as seen by this rank. */
export interface StepMetrics {
  /** 0-based index of the step just taken. */
  step: number;
  /**
   * Mean loss over the global batch (identical on every rank), before the update; in DiLoCo mode,
   * on inner steps that end no outer step, this rank's own loss (the ranks do not meet there).
   */
  loss: number;
  /** Mean loss over this rank's share. */
  localLoss: number;
  /** Tokens of the global batch. */
  tokens: number;
  /** Tokens of this rank's share, where the driver counts them. */
  localTokens?: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm (of the summed gradient) before clipping. */
  gradNorm: number;
  /** Milliseconds of forward + backward on this rank. */
  computeMs: number;
  /**
   * Milliseconds spent waiting for all-reduces (gradients, loss and any checksum check); with
   * overlap, only the gradient communication still in flight when backward ended.
   */
  communicationMs: number;
  /** Payload bytes this rank sent during the step. */
  bytesSent: number;
  /** Whether replica checksums were compared (and agreed) after this step. */
  verified: boolean;
}

/** Each checksum travels as four 16-bit halves, exact in f32 and exact when summed with zeros. */
const CHECKSUM_WORDS = 4;

/**
 * Drives one rank's training, one {@link step} per optimizer step.
 *
 * Forward and backward are synchronous tfjs calls that block the event loop; {@link step} then
 * awaits the all-reduces, which yields, so gRPC traffic, timers and heartbeats run while the ring
 * works. The same property lets tests run N ranks in one process: `Promise.all(ranks.map((r) =>
 * r.step(share)))` runs each rank's compute in turn, then the reductions concurrently.
 *
 * ```ts
 * const loop = new TrainingLoop(trainer, SINGLE_PROCESS);
 * for (let s = 0; s < steps; s++) log(await loop.step(rowShare(loader.next(), B)));
 * ```
 */
export class TrainingLoop {
  private readonly verifyEvery: number;
  private readonly outer?: OuterOptimizer;
  private readonly overlapped?: OverlappedGradients;
  /** When the ranks last met in DiLoCo mode (this loop's start, or its last outer step). */
  private metAt = performance.now();

  constructor(
    /** This rank's trainer (its replica, flat params and grads, AdamW state). */
    readonly trainer: Trainer,
    /** How gradients are summed over the ranks. */
    readonly collective: GradientCollective,
    private readonly options: TrainingLoopOptions = {},
  ) {
    const { verifyEvery = 100 } = options;
    if (!Number.isInteger(verifyEvery) || verifyEvery < 0) {
      throw new RangeError(`verifyEvery must be a non-negative integer, got ${String(verifyEvery)}`);
    }
    this.verifyEvery = verifyEvery;
    this.outer = options.outer;
    if (options.overlap !== false && !this.outer && collective.worldSize > 1 && trainer.model) {
      this.overlapped = new OverlappedGradients(trainer, collective, {
        bucketBytes: options.bucketBytes,
        wireDType: options.wireDType,
      });
    }
  }

  /** Optimizer steps done (including those before a resume). */
  get stepsDone(): number {
    return this.trainer.stepsDone;
  }

  /**
   * One optimizer step on this rank's share; every rank must call it for the same step. Rejects
   * with the collective's error when a peer fails, with `TrainingDivergedError` (before the update)
   * when the global loss or gradient norm is not finite, and with {@link ReplicaDivergenceError} when
   * a scheduled checksum comparison finds replicas that differ (on every rank alike).
   */
  async step(share: LocalShare): Promise<StepMetrics> {
    const step = this.trainer.stepsDone;
    const cost = { communicationMs: 0, bytesSent: 0 };
    const { localLoss, computeMs } = await this.gradients(share, step, cost);
    // DDP: the global loss, the same on every rank, so every rank stops alike before the update.
    // DiLoCo: each rank's own until an outer step, so the ranks need not meet between outer steps.
    let loss = this.outer ? localLoss : await this.globalLoss(localLoss * share.weight, step, cost);
    if (!Number.isFinite(loss)) throw new TrainingDivergedError(step, 'loss', loss);

    // Identical inputs on every rank, so an identical update (or the same TrainingDivergedError);
    // DiLoCo's inner update is this rank's own, until the outer step makes the replicas equal again.
    const { gradNorm, lr } = this.trainer.applyGradients();
    const synced = this.outer?.syncsAfter(this.trainer.stepsDone) ?? true;
    if (this.outer && synced) {
      await this.outerStep(step, cost);
      loss = await this.globalLoss(localLoss * share.weight, step, cost);
    }

    const verified =
      synced &&
      this.collective.worldSize > 1 &&
      this.verifyEvery > 0 &&
      this.trainer.stepsDone % this.verifyEvery === 0;
    if (verified) await this.verifyAt(step, cost);
    // After the process's first step the heap holds a step's working set: huge pages for it (once).
    settleHugePages();
    return {
      step,
      loss,
      localLoss,
      tokens: share.tokens,
      ...(share.localTokens !== undefined ? { localTokens: share.localTokens } : {}),
      lr,
      gradNorm,
      computeMs,
      ...cost,
      verified,
    };
  }

  /**
   * The step's gradients into `trainer.grads`: in DDP mode the sum over the ranks of each rank's
   * weighted gradient (overlapped with backward where it can be), in DiLoCo mode this rank's own.
   */
  private async gradients(
    share: LocalShare,
    step: number,
    cost: { communicationMs: number; bytesSent: number },
  ): Promise<{ localLoss: number; computeMs: number }> {
    const { work } = share;
    // Whether a step overlaps must not depend on the rank's share (every rank makes the same calls).
    if (this.overlapped && typeof work !== 'function') {
      const result = await this.overlapped.sumGradients(work, share.weight, step);
      cost.communicationMs += result.communicationMs;
      cost.bytesSent += result.bytesSent;
      return result;
    }
    const computeStarted = performance.now();
    const localLoss = this.localGradients(share); // grads = ∇ mean over the share
    // DDP: the sum over ranks is ∇ global mean. DiLoCo: each rank steps on its own share's mean.
    if (share.weight !== 1 && !this.outer) scale(this.trainer.grads, share.weight);
    const computeMs = performance.now() - computeStarted;
    if (!this.outer) {
      await this.reduce(
        this.trainer.grads,
        { step, phase: 'grads', wireDType: this.options.wireDType },
        cost,
      );
    }
    return { localLoss, computeMs };
  }

  /** The sum over the ranks of each rank's weighted share of the loss. */
  private async globalLoss(
    weighted: number,
    step: number,
    cost: { communicationMs: number; bytesSent: number },
  ): Promise<number> {
    const loss = new Float32Array([weighted]);
    await this.reduce(loss, { step, phase: 'loss' }, cost);
    return loss[0];
  }

  /**
   * Sums `values` over the ranks in place, outside the gradient reduction (evaluation shares,
   * barriers); every rank must make the same calls.
   */
  async allReduce(values: Float32Array, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.collective.allReduce(values, { step: this.trainer.stepsDone, phase: 'extra', ...options });
  }

  /**
   * Compares `checksum(trainer.params)` across all ranks now (every rank must call it at the same
   * point) and throws {@link ReplicaDivergenceError} naming the ranks when they differ.
   */
  async verifyReplicas(): Promise<void> {
    await this.verifyAt(this.trainer.stepsDone, { communicationMs: 0, bytesSent: 0 });
  }

  /** DiLoCo's outer step: the ranks' mean pseudo-gradient, then Nesterov SGD on the outer parameters. */
  private async outerStep(step: number, cost: { communicationMs: number; bytesSent: number }): Promise<void> {
    const outer = this.outer as OuterOptimizer; // called only in DiLoCo mode
    const delta = outer.pseudoGradient(this.trainer.params);
    // The ranks ran their inner steps without meeting, each at its own pace: a peer may arrive as
    // late as this rank's inner steps took again (a rank twice as slow), beyond the usual timeout.
    const graceMs = Math.ceil(performance.now() - this.metAt);
    await this.reduce(delta, { step, phase: 'grads', wireDType: this.options.wireDType, graceMs }, cost);
    this.metAt = performance.now();
    scale(delta, 1 / this.collective.worldSize);
    outer.apply(delta, this.trainer.params);
    this.trainer.parameters.commit();
  }

  /** Gradient of the mean loss over the share into `trainer.grads`; returns that mean loss. */
  private localGradients(share: LocalShare): number {
    const { work } = share;
    if (work === undefined) {
      this.trainer.grads.fill(0);
      return 0;
    }
    return this.trainer.computeGradients(work, share.microBatches ?? 1);
  }

  private async reduce(
    values: Float32Array,
    options: ReduceOptions,
    cost: { communicationMs: number; bytesSent: number },
  ): Promise<void> {
    const { elapsedMs, bytesSent } = await this.collective.allReduce(values, options);
    cost.communicationMs += elapsedMs;
    cost.bytesSent += bytesSent;
  }

  /** All-gathers every rank's checksum through one sum all-reduce. */
  private async verifyAt(step: number, cost: { communicationMs: number; bytesSent: number }): Promise<void> {
    const N = this.collective.worldSize;
    const mine = checksum(this.trainer.params); // 16 hex digits
    const gathered = new Float32Array(N * CHECKSUM_WORDS); // zeros but for this rank's slot
    for (let w = 0; w < CHECKSUM_WORDS; w++) {
      gathered[this.collective.rank * CHECKSUM_WORDS + w] = parseInt(mine.slice(4 * w, 4 * w + 4), 16);
    }
    await this.reduce(gathered, { step, phase: 'checksum' }, cost);
    const checksums = Array.from({ length: N }, (_, r) =>
      Array.from(gathered.subarray(r * CHECKSUM_WORDS, (r + 1) * CHECKSUM_WORDS), (w) =>
        w.toString(16).padStart(4, '0'),
      ).join(''),
    );
    if (checksums.some((c) => c !== checksums[0])) {
      throw new ReplicaDivergenceError(this.trainer.stepsDone, checksums);
    }
  }
}
