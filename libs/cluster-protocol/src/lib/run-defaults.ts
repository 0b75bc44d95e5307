/**
 * The defaults of pretraining and finetuning, defined once: `forge train`, `forge submit pretrain`,
 * `forge cluster up --submit`, `POST /runs` and the dashboard's New run form all read
 * {@link PRETRAIN_DEFAULTS}; `forge finetune classify|instruct`, `forge submit finetune`,
 * `POST /finetunes` and the New finetune form read {@link FINETUNE_DEFAULTS}.
 *
 * This file imports nothing (no zod, no fs), so a browser bundle (the dashboard) can import it through
 * `@llm-forge/cluster-protocol/browser`.
 */

/** The reference naming the built-in corpus (Moby Dick) instead of a text file. */
export const BUILTIN_TEXT = 'builtin:moby-dick';

/**
 * A pretraining run when nothing is said: the quick start's run, the `tiny` GPT on the built-in corpus
 * for 200 steps, a few minutes on a laptop CPU. The context length is the model's (64 for `tiny`); the final learning rate of the cosine is `lr / 10`.
 */
export const PRETRAIN_DEFAULTS = {
  /** Model size of a new model (when no `init` checkpoint is given). */
  preset: 'tiny',
  /** Training text: a file, or the built-in corpus. */
  text: BUILTIN_TEXT,
  /** Optimizer steps. One epoch of Moby Dick at batch 8 is about 500 steps; 200 show the loss fall. */
  steps: 200,
  /** Windows per optimizer step (in a cluster: over all workers, so the result does not depend on how many). */
  batchSize: 8,
  /** Peak learning rate: high, because `tiny` is small and trained from scratch for few steps. */
  lr: 1e-3,
  /** Linear warmup steps before the peak: keeps the first updates of random weights small. */
  warmupSteps: 10,
  /** Learning-rate schedule after warmup. */
  schedule: 'cosine',
  /** AdamW decoupled weight decay. */
  weightDecay: 0.1,
  /** Global gradient-norm clip (0: none). */
  gradClip: 1,
  /** Share of the text held out for validation. */
  valFraction: 0.1,
  /** Train/validation loss every N steps (0: only at the end). */
  evalEvery: 50,
  /** Batches per loss estimate. */
  evalBatches: 5,
  /** Seed of initialisation, shuffling and dropout. */
  seed: 123,
  /** Visit windows in a seeded random order. */
  shuffle: true,
  /**
   * Workers of a cluster run: one, so a run fits a one-worker cluster. `forge submit pretrain` and
   * `forge cluster up --submit` use every worker of the local cluster instead (at most `batchSize`).
   */
  workers: 1,
  /** Cluster runs: rank 0 checkpoints every N steps (and at the end), so a lost worker costs at most N steps. */
  checkpointEvery: 100,
  /** Cluster runs: step checkpoints kept (the newest; the final one is always kept). */
  keepCheckpoints: 3,
  /** Cluster runs: gradient encoding on the all-reduce wire. */
  wireDType: 'f32',
  /** Cluster runs: compare replica checksums every N steps (0: never). */
  verifyEvery: 100,
  /**
   * How the ranks synchronise: `ddp` sums the gradients every step; `diloco` takes `innerSteps`
   * local steps, then one outer step (DiLoCo, Douillard et al. 2023; the paper's outer lr 0.7 and
   * Nesterov momentum 0.9).
   */
  sync: { mode: 'ddp' },
  diloco: { innerSteps: 50, outerLr: 0.7, outerMomentum: 0.9 },
} as const;

/** The book's finetuning settings (chapters 6 and 7), for a pretrained GPT-2. */
export const FINETUNE_DEFAULTS = {
  /** Passes over the training split, per kind of finetune. */
  epochs: { classification: 5, instruction: 2 },
  /** Examples per optimizer step (in a cluster: over all workers). */
  batchSize: 8,
  /** AdamW learning rate, constant: small, because the weights are already trained. */
  lr: 5e-5,
  /** AdamW decoupled weight decay. */
  weightDecay: 0.1,
  /** Seed of the split, shuffling and initialisation. */
  seed: 123,
  /** Workers of a cluster job. */
  workers: 1,
  /** Cluster jobs: rank 0 saves resumable state every N steps (and after every epoch). */
  checkpointEvery: 20,
  /** Instruction: test-split responses generated (and judged) at the end of a cluster job. */
  maxResponses: 20,
} as const;
