/**
 * A pretraining run as the book's `train_model_simple` (ch. 5) with appendix D's extras: sliding
 * windows over a text, optional validation split, AdamW with warmup + cosine and clipping,
 * evaluation every N steps, sample generations, and a state that resumes exactly.
 */
import type { GPTModel } from '../model/gpt-model';
import { BatchLoader, type LoaderPosition } from '../data/batch-loader';
import { slidingWindows } from '../data/sliding-windows';
import { splitTrainValidation } from '../data/train-validation-split';
import { createTokenizer } from '../tokenizer/tokenizer';
import { ConfigError } from '../errors/forge-error';
import { generate } from '../generation/generate';
import type { AdamWState } from './adamw';
import { meanLoss } from './evaluate';
import { Trainer, type StepResult } from './trainer';

/** Hyperparameters of a run (the `forge train` flags). */
export interface TrainRunOptions {
  contextLength: number;
  stride: number;
  batchSize: number;
  /** Optimizer steps; when absent, `epochs` full passes over the training windows. */
  steps?: number;
  epochs?: number;
  /** Micro-batches per optimizer step (gradient accumulation). @defaultValue 1 */
  gradAccumulation?: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  schedule: 'constant' | 'cosine';
  weightDecay: number;
  /** 0 disables clipping. */
  gradClip: number;
  shuffle: boolean;
  /** Fraction of the text (by characters, from the end) held out for validation; 0 for none. */
  valFraction: number;
  /** Evaluate every N steps (and after the last); 0 only after the last. */
  evalEvery: number;
  /** Batches per loss estimate during training (the book's eval_iter). @defaultValue 5 */
  evalBatches?: number;
  /** Print a sample every N steps (and at the end); 0 only at the end. @defaultValue 0 */
  sampleEvery?: number;
  samplePrompt?: string;
  /** @defaultValue 40 */
  sampleTokens?: number;
  seed: number;
}

/** Everything needed to continue a run exactly where it stopped. Plain JSON. */
export interface TrainerState {
  /** Optimizer steps completed. */
  step: number;
  /** Where the training loader stands (the next batch it yields). */
  data: LoaderPosition;
  /** Dropout masks and samples derive from (seed, step, micro-batch): the seed is the RNG state. */
  rng: { seed: number; scheme: 'derive(seed, step, micro)' };
  options: TrainRunOptions;
  totalSteps: number;
  history: { stepLosses: number[]; evals: EvalRecord[] };
}

/** Train/validation loss at a step. */
export interface EvalRecord {
  step: number;
  trainLoss: number;
  valLoss?: number;
  tokensSeen: number;
}

/** Callbacks of {@link TrainingRun.run}. */
export interface TrainRunEvents {
  onStep?(result: StepResult & { totalSteps: number; tokensPerSecond: number; elapsedMs: number }): void;
  onEval?(record: EvalRecord): void;
  onSample?(sample: { step: number; text: string }): void;
}

/** What a finished (or stopped) run reports. */
export interface TrainSummary {
  stepLosses: number[];
  finalTrainLoss: number;
  finalValLoss?: number;
  /** Median over the steps after the first (the first includes warm-up costs). */
  tokensPerSecond: number;
  steps: number;
  tokensSeen: number;
  sample?: string;
  evals: EvalRecord[];
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** A resumable training run over one text. */
export class TrainingRun {
  readonly trainer: Trainer;
  readonly trainLoader: BatchLoader;
  readonly valLoader?: BatchLoader;
  readonly totalSteps: number;
  private readonly history: TrainerState['history'];
  private readonly tokenizer = createTokenizer();

  constructor(
    readonly model: GPTModel,
    text: string,
    readonly options: TrainRunOptions,
    resume?: { optimizer: AdamWState; state: TrainerState },
  ) {
    const T = options.contextLength;
    if (T > model.config.contextLength) {
      throw new ConfigError(
        'context-length',
        T,
        `at most the model's context length ${model.config.contextLength}`,
      );
    }
    const { train, validation } = splitTrainValidation(text, options.valFraction);
    const encode = (s: string) => this.tokenizer.encode(s);
    const loaderOptions = {
      batchSize: options.batchSize,
      shuffle: options.shuffle,
      seed: options.seed,
      dropLast: true,
    };
    this.trainLoader = new BatchLoader(slidingWindows(encode(train), T, options.stride), loaderOptions);
    if (validation) {
      const valOptions = { ...loaderOptions, shuffle: false, dropLast: true };
      this.valLoader = new BatchLoader(slidingWindows(encode(validation), T, options.stride), valOptions);
    }
    const accumulation = options.gradAccumulation ?? 1;
    this.totalSteps =
      options.steps ?? Math.floor(((options.epochs ?? 1) * this.trainLoader.batchesPerEpoch) / accumulation);
    if (!(this.totalSteps >= 1)) throw new ConfigError('steps', this.totalSteps, 'at least 1');
    this.trainer = new Trainer(
      model,
      {
        schedule: { ...options, totalSteps: this.totalSteps },
        adamw: { weightDecay: options.weightDecay },
        gradClip: options.gradClip,
        seed: options.seed,
      },
      resume?.optimizer,
    );
    this.history = resume ? structuredClone(resume.state.history) : { stepLosses: [], evals: [] };
    if (resume) this.trainLoader.seek(resume.state.data);
  }

  /** The state to store beside the weights and optimizer moments in a checkpoint. */
  state(): TrainerState {
    return {
      step: this.trainer.stepsDone,
      data: this.trainLoader.position(),
      rng: { seed: this.options.seed, scheme: 'derive(seed, step, micro)' },
      options: this.options,
      totalSteps: this.totalSteps,
      history: structuredClone(this.history),
    };
  }

  /** Mean train and validation loss over the first `evalBatches` batches of each split. */
  evaluate(): EvalRecord {
    const n = this.options.evalBatches ?? 5;
    const step = this.trainer.stepsDone;
    const trainLoss = meanLoss(this.model, this.batchesInOrder(this.trainLoader, n)).loss;
    const valLoss = this.valLoader
      ? meanLoss(this.model, this.batchesInOrder(this.valLoader, n)).loss
      : undefined;
    const tokensSeen = step * this.tokensPerStep();
    return { step, trainLoss, valLoss, tokensSeen };
  }

  /** A greedy continuation of the sample prompt (the book's generate_and_print_sample). */
  sample(): string {
    const prompt = this.tokenizer.encode(this.options.samplePrompt ?? 'Every effort moves you');
    const ids = generate(this.model, prompt, { maxNewTokens: this.options.sampleTokens ?? 40 });
    return this.tokenizer.decode([...prompt, ...ids]);
  }

  /**
   * Runs until `stopAfter` more steps, the end of the run, or `signal` aborts (checked between
   * steps, so the state stays consistent and resumable); returns the summary so far. Yields to the
   * event loop between steps, so timers, progress output and signals are served.
   */
  async run(events: TrainRunEvents = {}, stopAfter = Infinity, signal?: AbortSignal): Promise<TrainSummary> {
    const { evalEvery, sampleEvery = 0 } = this.options;
    const accumulation = this.options.gradAccumulation ?? 1;
    const throughput: number[] = [];
    const start = Date.now();
    let sample: string | undefined;
    let done = 0;
    while (this.trainer.stepsDone < this.totalSteps && done < stopAfter) {
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) break;
      const t0 = performance.now();
      const batches = Array.from({ length: accumulation }, () => this.trainLoader.next());
      const result = this.trainer.step(batches);
      const seconds = (performance.now() - t0) / 1000;
      if (done > 0 || this.trainer.stepsDone === this.totalSteps) throughput.push(result.tokens / seconds);
      done++;
      this.history.stepLosses.push(result.loss);
      const step = this.trainer.stepsDone;
      events.onStep?.({
        ...result,
        totalSteps: this.totalSteps,
        tokensPerSecond: result.tokens / seconds,
        elapsedMs: Date.now() - start,
      });
      const last = step === this.totalSteps;
      if ((evalEvery > 0 && step % evalEvery === 0) || last) {
        const record = this.evaluate();
        this.history.evals.push(record);
        events.onEval?.(record);
      }
      if ((sampleEvery > 0 && step % sampleEvery === 0) || last) {
        sample = this.sample();
        events.onSample?.({ step, text: sample });
      }
    }
    return this.summary(throughput, sample);
  }

  private summary(throughput: number[], sample?: string): TrainSummary {
    const lastEval = this.history.evals[this.history.evals.length - 1];
    const losses = this.history.stepLosses;
    return {
      stepLosses: [...losses],
      finalTrainLoss: lastEval?.trainLoss ?? losses[losses.length - 1],
      finalValLoss: lastEval?.valLoss,
      tokensPerSecond: median(throughput),
      steps: this.trainer.stepsDone,
      tokensSeen: this.trainer.stepsDone * this.tokensPerStep(),
      sample,
      evals: [...this.history.evals],
    };
  }

  private tokensPerStep(): number {
    return (this.options.gradAccumulation ?? 1) * this.options.batchSize * this.options.contextLength;
  }

  private *batchesInOrder(loader: BatchLoader, count: number) {
    const n = Math.min(count, loader.batchesPerEpoch);
    for (let i = 0; i < n; i++) yield loader.batchAt(0, i);
  }
}
