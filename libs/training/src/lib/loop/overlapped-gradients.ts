/**
 * The gradient sum of a data-parallel step, overlapped with backward (as PyTorch DDP's buckets):
 * backward produces the parameter gradients from the output head down to the embeddings, and each
 * bucket — a run of parameters adjacent in the flat buffer, in that order — is handed to the
 * collective the moment its last gradient is final, while backward goes on. The collective runs on
 * its own thread (a worker's ThreadedRingAllReduce), so the wire time hides under the compute; only
 * what is still in flight when backward ends is waited for.
 *
 * The token embedding is most of a small GPT (64% of `small`) and its lookup gradient is complete
 * only at the very end of backward, but it is sparse: a step of N tokens touches at most N of its V
 * rows. So its output-head part (dense, the first gradient backward produces) travels first, as a
 * bucket of its own, and its lookup part travels last as packed rows: the ranks sum a presence
 * vector [V] of the ids they look up (sent before backward starts), and then the rows [U, C] of the
 * U ids that any rank looked up — at most N·ranks rows instead of V.
 *
 * Every rank makes the same calls in the same order (presence, buckets in plan order, rows), so the
 * ranks pair them up and end with identical sums: the replicas stay bit-identical, and N ranks
 * equal one rank up to the order of float additions.
 */
import type { WireDType } from '@llm-forge/collective';
import { addPackedRows, presentIds, type Batch, type Trainer } from '@llm-forge/gpt';
import { scale } from '@llm-forge/tfjs-backend-native';
import type { GradientCollective, ReduceOptions } from '../collective/gradient-collective';

/** Options of an {@link OverlappedGradients}; every rank must pass the same. */
export interface OverlapOptions {
  /** Gradient bytes per bucket (at least; a parameter is never split). @defaultValue 8 MiB */
  bucketBytes?: number;
  /** Wire encoding of the gradient buckets and rows (presence always travels as f32). */
  wireDType?: WireDType;
}

/** What the overlapped reduction of one step cost this rank. */
export interface OverlapCost {
  /** Mean loss over this rank's share. */
  localLoss: number;
  /** Milliseconds of forward + backward (the collective ran meanwhile). */
  computeMs: number;
  /** Milliseconds waited for the collective after backward: the communication not hidden. */
  communicationMs: number;
  /** Payload bytes this rank sent. */
  bytesSent: number;
}

/** A contiguous range [start, end) of the flat gradient buffer, reduced in one call. */
interface Bucket {
  start: number;
  end: number;
  /** Parameters in it (layout indices). */
  parameters: number[];
}

const DEFAULT_BUCKET_BYTES = 8 * 2 ** 20;

/** Sums a GPT trainer's step gradients over the ranks while backward runs. */
export class OverlappedGradients {
  private readonly buckets: Bucket[];
  /** Bucket of each parameter (layout order); -1 for an untied embedding, which is rows only. */
  private readonly bucketOf: Int32Array;
  private readonly wte: { offset: number; size: number; width: number };
  /** Ids looked up by some rank this step, summed over ranks: [V], on shared memory for the thread. */
  private readonly presence: Float32Array;
  private packed = new Float32Array(new SharedArrayBuffer(0));

  constructor(
    private readonly trainer: Trainer,
    private readonly collective: GradientCollective,
    private readonly options: OverlapOptions = {},
  ) {
    const model = trainer.model;
    if (!model) throw new RangeError('overlapped gradients need a trainer of a GPT (batches)');
    const bucketBytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    if (!Number.isInteger(bucketBytes) || bucketBytes < 4)
      throw new RangeError(`bucketBytes must be an integer >= 4, got ${String(bucketBytes)}`);
    const specs = model.layout.specs;
    const wte = specs[0]; // the layout starts with the token embedding
    this.wte = { offset: wte.offset, size: wte.size, width: model.config.embDim };
    this.buckets = planBuckets(specs, model.config.tiedHead, bucketBytes / 4);
    this.bucketOf = new Int32Array(specs.length).fill(-1);
    this.buckets.forEach((b, k) => b.parameters.forEach((i) => (this.bucketOf[i] = k)));
    this.presence = new Float32Array(new SharedArrayBuffer(4 * model.config.vocabSize));
  }

  /**
   * Computes this rank's gradient of the mean loss over `batches` (none: a rank without rows this
   * step, which contributes zeros), weighted by `weight`, and sums it over the ranks into the
   * trainer's `grads`. Every rank calls it for the same step.
   */
  async sumGradients(
    batches: readonly Batch[] | undefined,
    weight: number,
    step: number,
  ): Promise<OverlapCost> {
    const cost = { communicationMs: 0, bytesSent: 0 };
    const inFlight: Array<Promise<void>> = [];
    const reduce = (values: Float32Array, part: number, wireDType = this.options.wireDType): void => {
      const options: ReduceOptions = { step, phase: 'grads', part, ...(wireDType ? { wireDType } : {}) };
      const call = this.collective.allReduce(values, options).then(({ bytesSent }) => {
        cost.bytesSent += bytesSent;
      });
      call.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
      inFlight.push(call);
    };
    this.presence.fill(0);
    for (const batch of batches ?? []) for (const id of batch.inputs) this.presence[id] = 1;
    reduce(this.presence, 0, 'f32');

    const remaining = this.buckets.map((b) => b.parameters.length);
    let posted = 0;
    const ready = (i: number): void => {
      const k = this.bucketOf[i];
      if (k < 0 || --remaining[k] > 0) return;
      // Post in plan order, so every rank pairs the same buckets with the same keys.
      while (posted < this.buckets.length && remaining[posted] === 0) {
        const { start, end } = this.buckets[posted];
        const values = this.trainer.grads.subarray(start, end);
        if (weight !== 1) scale(values, weight);
        reduce(values, 1 + posted++);
      }
    };

    const computeStarted = performance.now();
    const localLoss = batches ? this.trainer.computeGradients(batches, 1, { parameterReady: ready }) : 0;
    if (!batches) {
      this.trainer.grads.fill(0);
      this.trainer.embeddingRows?.clear();
      this.buckets.forEach((b) => b.parameters.forEach(ready));
    }
    const computeMs = performance.now() - computeStarted;
    if (posted !== this.buckets.length)
      throw new Error(`only ${posted} of ${this.buckets.length} buckets were ready`);

    const waitStarted = performance.now();
    await inFlight[0]; // the presence vector, sent before backward began
    const tokens = presentIds(this.presence);
    const rows = this.packedRows(tokens, weight);
    reduce(rows, 1 + posted);
    await Promise.all(inFlight);
    const { offset, size, width } = this.wte;
    addPackedRows(this.trainer.grads.subarray(offset, offset + size), tokens, rows, width);
    this.trainer.embeddingRows?.clear();
    cost.communicationMs = performance.now() - waitStarted;
    return { localLoss, computeMs, ...cost };
  }

  /** This rank's lookup rows of the ids `tokens`, times `weight`, packed [U · C] (zeros for ids it lacks). */
  private packedRows(tokens: Int32Array, weight: number): Float32Array {
    const length = tokens.length * this.wte.width;
    if (this.packed.length < length) this.packed = new Float32Array(new SharedArrayBuffer(4 * length));
    const packed = this.packed.subarray(0, length);
    const rows = this.trainer.embeddingRows;
    if (!rows) return packed.fill(0);
    rows.scale *= weight;
    rows.sumPacked(tokens, packed);
    return packed;
  }
}

/**
 * Buckets in the order backward finishes them: a tied embedding's output-head part first, alone;
 * then the parameters from the end of the layout back to its start (`ln_f`, the last block … the
 * first block, the position embedding), cut into runs of at least `bucketElements`. The token
 * embedding's lookup part is not in any bucket: it travels as rows.
 */
function planBuckets(
  specs: ReadonlyArray<{ offset: number; size: number }>,
  tiedHead: boolean,
  bucketElements: number,
): Bucket[] {
  const buckets: Bucket[] = [];
  if (tiedHead)
    buckets.push({ start: specs[0].offset, end: specs[0].offset + specs[0].size, parameters: [0] });
  let open: Bucket | undefined;
  for (let i = specs.length - 1; i >= 1; i--) {
    const { offset, size } = specs[i];
    open ??= { start: offset + size, end: offset + size, parameters: [] };
    open.start = offset;
    open.parameters.push(i);
    if (open.end - open.start >= bucketElements || i === 1) {
      buckets.push(open);
      open = undefined;
    }
  }
  return buckets;
}
