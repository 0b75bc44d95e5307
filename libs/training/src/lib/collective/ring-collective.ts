/**
 * A {@link GradientCollective} over a worker's {@link AllReduceRing}: every call gets the ring
 * operation key of its (step, phase), so all ranks that make the same calls use the same keys, and
 * carries the ring generation's attempt number, so stale chunks of an aborted attempt are dropped.
 */
import type { AllReduceOptions, AllReduceRing, WireDType } from '@llm-forge/collective';
import type { GradientCollective, ReduceCost, ReduceOptions, ReducePhase } from './gradient-collective';

/**
 * Keys reserved per optimizer step, in the order a step makes its calls: calls between steps
 * (`extra`: evaluation, barriers), the gradient parts, the loss, the checksum. A step with more
 * calls of a phase than it has keys takes the next free keys (every rank alike).
 */
const KEYS_PER_STEP = 4096;
const PHASE_KEY: Record<ReducePhase, number> = {
  extra: 0,
  grads: 16,
  loss: KEYS_PER_STEP - 2,
  checksum: KEYS_PER_STEP - 1,
};

/** Options of a {@link RingCollective}; every rank of a generation passes the same. */
export interface RingCollectiveOptions {
  /** Attempt number of the ring generation (larger for every re-formed ring). @defaultValue 0 */
  attempt?: number;
  /** Timeout of each all-reduce in milliseconds. @defaultValue the ring's `timeoutMs` */
  timeoutMs?: number;
  /** Wire encoding of gradient all-reduces that do not name one. @defaultValue the ring's */
  wireDType?: WireDType;
}

/** A connected ring as the training loop's collective. */
export class RingCollective implements GradientCollective {
  /** Last operation key used; keys must increase. */
  private lastKey = -1;

  constructor(
    readonly ring: AllReduceRing,
    private readonly options: RingCollectiveOptions = {},
  ) {}

  get rank(): number {
    return this.ring.rank;
  }

  get worldSize(): number {
    return this.ring.worldSize;
  }

  async allReduce(values: Float32Array, options: ReduceOptions): Promise<ReduceCost> {
    const call: AllReduceOptions = { step: this.nextKey(options), attempt: this.options.attempt ?? 0 };
    // An explicit `undefined` would override the ring's own default, so set only what is given.
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    if (timeoutMs !== undefined) call.timeoutMs = timeoutMs;
    if (options.graceMs) call.timeoutMs = (call.timeoutMs ?? this.ring.timeoutMs) + options.graceMs;
    const wireDType = options.phase === 'grads' ? (options.wireDType ?? this.options.wireDType) : 'f32';
    if (wireDType !== undefined) call.wireDType = wireDType;
    const { elapsedMs, bytesSent } = await this.ring.allReduce(values, call);
    return { elapsedMs, bytesSent };
  }

  /** The key of (step, phase, part), or the next free key when an earlier call of the step used it. */
  private nextKey({ step, phase, part = 0 }: ReduceOptions): number {
    this.lastKey = Math.max(step * KEYS_PER_STEP + PHASE_KEY[phase] + part, this.lastKey + 1);
    return this.lastKey;
  }
}
