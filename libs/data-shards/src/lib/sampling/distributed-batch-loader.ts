/**
 * Batches for one data-parallel rank, read from a token stream (a dataset's train split, or ids in
 * memory): at every step, rank r of N gets its contiguous slice of the global batch that
 * {@link WindowSampler} defines for (seed, epoch, step). The position is a {@link DataPosition},
 * saved with checkpoints; every rank shares it.
 *
 * B = global batch size, b = this rank's rows, T = context length.
 */
import type { Batch } from '@llm-forge/gpt';
import type { TokenStream } from '../dataset/token-stream';
import { checkDataPosition, type DataPosition } from './data-position';
import { rankSlice, type RankSlice } from './rank-slice';
import { WindowSampler, type WindowSamplerOptions } from './window-sampler';

/** Options of a {@link DistributedBatchLoader}. */
export interface DistributedBatchLoaderOptions extends WindowSamplerOptions {
  /** This process's rank. @defaultValue 0 */
  rank?: number;
  /** Number of ranks. @defaultValue 1 */
  worldSize?: number;
}

/** Deterministic, resumable batches of one rank. */
export class DistributedBatchLoader {
  /** The window order shared by all ranks. */
  readonly sampler: WindowSampler;
  /** r. */
  readonly rank: number;
  /** N. */
  readonly worldSize: number;
  /** This rank's rows of every global batch. */
  readonly slice: RankSlice;
  private epoch = 0;
  private step = 0;
  private readonly window: Uint16Array;

  /** A loader at epoch 0, step 0. Throws a DataError for bad options or too little data. */
  constructor(
    /** The train tokens. */
    readonly tokens: TokenStream,
    options: DistributedBatchLoaderOptions,
  ) {
    this.sampler = new WindowSampler(tokens.length, options);
    this.rank = options.rank ?? 0;
    this.worldSize = options.worldSize ?? 1;
    this.slice = rankSlice(this.sampler.batchSize, this.rank, this.worldSize);
    this.window = new Uint16Array(this.sampler.contextLength + 1);
  }

  /** Global batches per epoch. */
  get stepsPerEpoch(): number {
    return this.sampler.stepsPerEpoch;
  }

  /** The position of the next batch. */
  position(): DataPosition {
    return { seed: this.sampler.seed, epoch: this.epoch, step: this.step };
  }

  /** Moves to a saved position; the following batches are exactly those that followed it. */
  seek(position: DataPosition): void {
    const { epoch, step } = checkDataPosition(position, this.sampler.seed, this.stepsPerEpoch);
    this.epoch = epoch;
    this.step = step;
  }

  /** This rank's batch at the current position; then advances (into the next epoch after the last step). */
  next(): Batch {
    const batch = this.batchAt(this.epoch, this.step);
    this.step++;
    if (this.step === this.stepsPerEpoch) {
      this.step = 0;
      this.epoch++;
    }
    return batch;
  }

  /** This rank's rows (b, T) of the global batch of (epoch, step), without moving. */
  batchAt(epoch: number, step: number): Batch {
    return this.read(this.sampler.rankBatch(epoch, step, this.rank, this.worldSize));
  }

  /** All B rows (B, T) of the global batch of (epoch, step), as one process would train on. */
  globalBatchAt(epoch: number, step: number): Batch {
    return this.read(this.sampler.globalBatch(epoch, step));
  }

  private read(windows: Int32Array): Batch {
    const T = this.sampler.contextLength;
    const rows = windows.length;
    const inputs = new Int32Array(rows * T);
    const targets = new Int32Array(rows * T);
    for (let b = 0; b < rows; b++) {
      this.tokens.read(this.sampler.windowStart(windows[b]), T + 1, this.window);
      inputs.set(this.window.subarray(0, T), b * T); // row b of (b, T)
      targets.set(this.window.subarray(1), b * T);
    }
    return { inputs, targets, batchSize: rows, contextLength: T };
  }
}
