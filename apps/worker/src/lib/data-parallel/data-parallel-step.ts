/**
 * One data-parallel optimizer step of one rank, the same loop for world size 1 as for N.
 *
 * Every rank holds a full replica (GPTModel + Trainer) and, at step s, its contiguous slice of the
 * global batch (`DistributedBatchLoader` with its rank and world size; `rankSlice` rows). The rank
 * computes the gradient of the mean loss over its b_r rows, scales it by b_r / B, and sums it over
 * the ring: Σ_r (b_r / B) · ∇mean_r = ∇(mean over all B rows), because every row carries the same
 * T tokens. So every rank applies the identical clipped AdamW update and the replicas stay
 * bit-identical (the ring gives every rank the same bytes); a checksum all-gather every K steps
 * verifies that.
 *
 * B = global batch size, b_r = rows of rank r, T = context length, N = world size.
 */
import { checksum, type AllReduceOptions, type AllReduceRing, type WireDType } from '@llm-forge/collective';
import type { Batch, Trainer } from '@llm-forge/gpt';
import { addInto, scale } from '@llm-forge/tfjs-backend-native';
import { ReplicaDivergenceError } from '../errors/replica-divergence-error';

/** Options of a {@link DataParallelStep}; every rank must pass the same values. */
export interface DataParallelStepOptions {
  /** B: rows of the global batch over all ranks; each step's slice has at most B rows. */
  globalBatchSize: number;
  /**
   * Compare parameter checksums across ranks after every `checkEvery`-th step; 0 never does.
   * @defaultValue 100
   */
  checkEvery?: number;
  /** Timeout of each all-reduce in milliseconds. @defaultValue the ring's `timeoutMs` */
  timeoutMs?: number;
  /**
   * Attempt number every all-reduce carries: a ring generation formed for a retry uses a larger one,
   * so stale chunks of an aborted attempt are discarded. @defaultValue 0
   */
  attempt?: number;
  /** Wire encoding of the gradients (the loss and checksums always travel as f32). @defaultValue the ring's */
  wireDType?: WireDType;
}

/** What one data-parallel step did, as seen by this rank. */
export interface DataParallelStepMetrics {
  /** 0-based index of the step just taken. */
  step: number;
  /** Mean loss over the global batch (identical on every rank), before the update. */
  loss: number;
  /** Mean loss over this rank's slice. */
  localLoss: number;
  /** Tokens of the global batch (B · T). */
  tokens: number;
  /** Tokens of this rank's slice (b_r · T). */
  localTokens: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm (of the all-reduced gradient) before clipping. */
  gradNorm: number;
  /** Milliseconds of forward + backward on this rank. */
  computeMs: number;
  /** Milliseconds spent in all-reduces (gradients, loss and any checksum check). */
  communicationMs: number;
  /** Payload bytes this rank sent to its right neighbour during the step. */
  bytesSent: number;
  /** Whether replica checksums were compared (and agreed) after this step. */
  verified: boolean;
}

/** Collective operations per optimizer step; the ring's operation key is step · 4 + phase. */
const OPS_PER_STEP = 4;
const PHASE = { grads: 0, loss: 1, checksum: 2 } as const;

/** Each checksum travels as four 16-bit halves, exact in f32 and exact when summed with zeros. */
const CHECKSUM_WORDS = 4;

/**
 * Drives one rank's data-parallel training: {@link step} per optimizer step.
 *
 * Forward and backward are synchronous tfjs calls that block the event loop for the length of the
 * compute; {@link step} then awaits the all-reduces, which yields, so gRPC traffic (this rank's
 * server answering its left neighbour), timers and heartbeats run while the ring works. A worker
 * process therefore needs no worker_threads as long as one step's compute stays well below the
 * collective timeout and the coordinator's heartbeat interval. The same property lets tests run
 * all N ranks in one process: `Promise.all(ranks.map((r) => r.step(slice)))` runs each rank's
 * compute in turn, then the ring operations concurrently.
 *
 * ```ts
 * const dp = new DataParallelStep(trainer, ring, { globalBatchSize: B });
 * for (let s = 0; s < steps; s++) log(await dp.step(loader.next()));
 * ```
 */
export class DataParallelStep {
  private readonly globalBatchSize: number;
  private readonly checkEvery: number;
  private readonly timeoutMs?: number;
  private readonly attempt: number;
  private readonly wireDType?: WireDType;
  /** Last ring operation key used; keys must increase. */
  private lastKey = -1;

  constructor(
    /** This rank's trainer (its model replica, flat params and grads, AdamW state). */
    readonly trainer: Trainer,
    /** This rank's connected ring. */
    readonly ring: AllReduceRing,
    options: DataParallelStepOptions,
  ) {
    const { globalBatchSize, checkEvery = 100, timeoutMs, attempt = 0, wireDType } = options;
    if (!Number.isInteger(globalBatchSize) || globalBatchSize < ring.worldSize) {
      throw new RangeError(
        `globalBatchSize must be an integer >= worldSize (${ring.worldSize}), got ${String(globalBatchSize)}`,
      );
    }
    if (!Number.isInteger(checkEvery) || checkEvery < 0) {
      throw new RangeError(`checkEvery must be a non-negative integer, got ${String(checkEvery)}`);
    }
    this.globalBatchSize = globalBatchSize;
    this.checkEvery = checkEvery;
    this.timeoutMs = timeoutMs;
    this.attempt = attempt;
    this.wireDType = wireDType;
  }

  /**
   * One optimizer step on this rank's `slice` (b_r rows of the global batch), given whole or as
   * micro-batches whose gradients are accumulated (rows of every micro-batch weigh the same). Every
   * rank must call it for the same step. Rejects with the collective's typed error (CollectiveTimeoutError,
   * CollectivePeerError, ...) when a peer fails, and with {@link ReplicaDivergenceError} when a
   * scheduled checksum comparison finds replicas that differ (on every rank alike).
   */
  async step(slice: Batch | readonly Batch[]): Promise<DataParallelStepMetrics> {
    const micro = Array.isArray(slice) ? (slice as readonly Batch[]) : [slice as Batch];
    const B = this.globalBatchSize;
    const b = micro.reduce((rows, m) => rows + m.batchSize, 0);
    if (!Number.isInteger(b) || b < 1 || b > B) {
      throw new RangeError(`the slice must have 1 to ${B} rows (globalBatchSize), got ${String(b)}`);
    }
    const step = this.trainer.stepsDone;

    // Compute: synchronous, blocks the event loop.
    const computeStarted = performance.now();
    const localLoss = this.computeLocalGradients(micro, b); // grads = ∇ mean over b rows
    scale(this.trainer.grads, b / B); // weight by rows: the ring's sum is ∇ mean over B rows
    const computeMs = performance.now() - computeStarted;

    // Communicate: yields to the event loop until every rank's share has arrived.
    let communicationMs = 0;
    let bytesSent = 0;
    const reduce = async (
      buffer: Float32Array,
      phase: number,
      wireDType: WireDType = 'f32',
    ): Promise<void> => {
      const result = await this.ring.allReduce(buffer, { ...this.reduceOptions(step, phase), wireDType });
      communicationMs += result.elapsedMs;
      bytesSent += result.bytesSent;
    };
    await reduce(this.trainer.grads, PHASE.grads, this.wireDType);
    const loss = new Float32Array([(localLoss * b) / B]);
    await reduce(loss, PHASE.loss);

    // Identical inputs on every rank, so an identical update.
    const { gradNorm, lr } = this.trainer.applyGradients();

    let verified = false;
    if (this.checkEvery > 0 && this.trainer.stepsDone % this.checkEvery === 0) {
      const started = performance.now();
      bytesSent += await this.verifyReplicasAt(step, PHASE.checksum);
      communicationMs += performance.now() - started;
      verified = true;
    }
    const T = micro[0].contextLength;
    return {
      step,
      loss: loss[0],
      localLoss,
      tokens: B * T,
      localTokens: b * T,
      lr,
      gradNorm,
      computeMs,
      communicationMs,
      bytesSent,
      verified,
    };
  }

  /**
   * Gradient of the mean loss over all `rows` rows of the micro-batches into `trainer.grads`; returns
   * that mean loss. The trainer weighs micro-batches equally, so micro-batches of unequal sizes are
   * computed one by one and weighted by their rows.
   */
  private computeLocalGradients(micro: readonly Batch[], rows: number): number {
    if (micro.every((m) => m.batchSize === micro[0].batchSize))
      return this.trainer.computeGradients([...micro]);
    const sum = new Float32Array(this.trainer.grads.length);
    let loss = 0;
    for (const m of micro) {
      const weight = m.batchSize / rows;
      loss += this.trainer.computeGradients([m]) * weight;
      scale(this.trainer.grads, weight);
      addInto(sum, this.trainer.grads);
    }
    this.trainer.grads.set(sum);
    return loss;
  }

  /**
   * Compares `checksum(trainer.params)` across all ranks now (every rank must call it at the same
   * point) and throws {@link ReplicaDivergenceError} naming the ranks when they differ.
   */
  async verifyReplicas(): Promise<void> {
    await this.verifyReplicasAt(this.trainer.stepsDone, OPS_PER_STEP - 1);
  }

  /** All-gathers every rank's checksum through one sum all-reduce; returns the bytes sent. */
  private async verifyReplicasAt(step: number, phase: number): Promise<number> {
    const N = this.ring.worldSize;
    const mine = checksum(this.trainer.params); // 16 hex digits
    const gathered = new Float32Array(N * CHECKSUM_WORDS); // zeros but for this rank's slot
    for (let w = 0; w < CHECKSUM_WORDS; w++) {
      gathered[this.ring.rank * CHECKSUM_WORDS + w] = parseInt(mine.slice(4 * w, 4 * w + 4), 16);
    }
    const { bytesSent } = await this.ring.allReduce(gathered, this.reduceOptions(step, phase));
    const checksums = Array.from({ length: N }, (_, r) =>
      Array.from(gathered.subarray(r * CHECKSUM_WORDS, (r + 1) * CHECKSUM_WORDS), (w) =>
        w.toString(16).padStart(4, '0'),
      ).join(''),
    );
    if (checksums.some((c) => c !== checksums[0])) {
      throw new ReplicaDivergenceError(this.trainer.stepsDone, checksums);
    }
    return bytesSent;
  }

  /** All-reduce options of (step, phase); the ring's own timeout unless one was given. */
  private reduceOptions(step: number, phase: number): AllReduceOptions {
    const options: AllReduceOptions = { step: this.nextKey(step, phase), attempt: this.attempt };
    // An explicit `timeoutMs: undefined` would override the ring's default, so leave it out.
    if (this.timeoutMs !== undefined) options.timeoutMs = this.timeoutMs;
    return options;
  }

  /**
   * The ring operation key of (step, phase): step · 4 + phase, or the next free key when an extra
   * operation (a {@link verifyReplicas} call) already used it. Deterministic, so every rank that
   * makes the same calls uses the same keys.
   */
  private nextKey(step: number, phase: number): number {
    this.lastKey = Math.max(step * OPS_PER_STEP + phase, this.lastKey + 1);
    return this.lastKey;
  }
}
