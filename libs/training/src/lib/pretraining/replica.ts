/**
 * One rank's replica of a run: model, trainer (flat parameters, gradients, AdamW state) and the run's
 * data, built from the run spec — fresh at step 0, or from a checkpoint of the run. Every rank builds
 * the same replica from the same inputs (seeded initialisation), so replicas start bit-identical.
 */
import {
  CheckpointError,
  ConfigError,
  GPTModel,
  loadCheckpoint,
  loadModel,
  presetConfig,
  Trainer,
} from '@llm-forge/gpt';
import type { RunSpec } from '@llm-forge/cluster-protocol';
import { OuterOptimizer } from '../loop/outer-optimizer';
import { openRunData, type RunData } from './run-data';

/** What a rank holds of a run between steps. */
export interface Replica {
  runId: string;
  spec: RunSpec;
  model: GPTModel;
  trainer: Trainer;
  data: RunData;
  /** Tokens per training window. */
  contextLength: number;
  /** Step between windows. */
  stride: number;
  /** DiLoCo's outer optimizer, when the spec's sync mode is `diloco` (its state outlives ring generations). */
  outer?: OuterOptimizer;
}

/** Name of DiLoCo's outer momentum among a checkpoint's trainer tensors. */
export const OUTER_MOMENTUM_TENSOR = 'diloco.outer_momentum';

/** What {@link saveRunCheckpoint} stores as trainer state, and {@link replicaFromCheckpoint} reads back. */
export interface RunTrainerState {
  runId: string;
  /** Optimizer steps applied. */
  step: number;
  /** Position of the next global batch. */
  data: { seed: number; epoch: number; step: number };
  rng: { seed: number; scheme: 'derive(seed, step, micro)' };
  spec: RunSpec;
  /**
   * What the run reported so far (`forge train`, so that a resumed run reports the whole run; a
   * cluster run keeps this in the coordinator instead).
   */
  history?: RunHistory;
}

/** Step losses and evaluations of a run so far. */
export interface RunHistory {
  stepLosses: number[];
  evals: Array<{ step: number; trainLoss: number; valLoss?: number }>;
}

/** A new replica at step 0. */
export function freshReplica(runId: string, spec: RunSpec): Replica {
  if (spec.model.resume) {
    throw new ConfigError(
      'model.resume',
      true,
      "false for cluster runs (start from the checkpoint's weights with model.init, or resume a cluster run with POST /runs/:id/resume)",
    );
  }
  const dropout = spec.model.dropout !== undefined ? { dropRate: spec.model.dropout } : {};
  let model: GPTModel;
  if (spec.model.init !== undefined) {
    const { config, params } = loadModel(spec.model.init);
    model = GPTModel.fromParameters({ ...config, ...dropout }, params);
  } else {
    model = GPTModel.random(presetConfig(spec.model.preset as string, dropout), spec.seed);
  }
  return assemble(runId, spec, model);
}

/**
 * A replica from one of the run's checkpoints, which must hold `step` applied steps. Throws a
 * CheckpointError naming the file when the checkpoint is missing, corrupt or from another point.
 */
export function replicaFromCheckpoint(runId: string, spec: RunSpec, dir: string, step: number): Replica {
  const checkpoint = loadCheckpoint(dir);
  const state = checkpoint.trainerState as Partial<RunTrainerState> | undefined;
  if (!checkpoint.optimizer || state?.step !== step) {
    throw new CheckpointError(
      dir,
      checkpoint.optimizer
        ? `holds ${String(state?.step)} steps of run ${String(state?.runId)}, expected ${step} steps`
        : 'has no optimizer state',
      'resume from a checkpoint this run wrote',
    );
  }
  const dropout = spec.model.dropout !== undefined ? { dropRate: spec.model.dropout } : {};
  const model = GPTModel.fromParameters({ ...checkpoint.config, ...dropout }, checkpoint.params);
  return assemble(
    runId,
    spec,
    model,
    checkpoint.optimizer,
    checkpoint.trainerTensors?.[OUTER_MOMENTUM_TENSOR],
  );
}

/**
 * The replica of a run that has not taken a step yet, with its length changed (whole epochs are known
 * only once the data is open): the learning-rate schedule is rebuilt for `steps`.
 */
export function withTotalSteps(replica: Replica, steps: number): Replica {
  if (replica.trainer.stepsDone > 0) {
    throw new ConfigError('steps', steps, 'set before the first step (this replica has trained already)');
  }
  const spec = { ...replica.spec, steps };
  const trainer = newTrainer(replica.model, spec);
  return { ...replica, spec, trainer, outer: newOuter(trainer, spec) };
}

function assemble(
  runId: string,
  spec: RunSpec,
  model: GPTModel,
  optimizer?: Parameters<typeof newTrainer>[2],
  outerMomentum?: Float32Array,
): Replica {
  const contextLength = spec.contextLength ?? model.config.contextLength;
  if (contextLength > model.config.contextLength) {
    model.dispose();
    throw new ConfigError(
      'contextLength',
      contextLength,
      `at most the model's ${model.config.contextLength}`,
    );
  }
  let data: RunData;
  try {
    data = openRunData(spec.data);
  } catch (error) {
    model.dispose();
    throw error;
  }
  const trainer = newTrainer(model, spec, optimizer);
  return {
    runId,
    spec,
    model,
    trainer,
    data,
    contextLength,
    stride: spec.stride ?? contextLength,
    outer: newOuter(trainer, spec, outerMomentum),
  };
}

/** DiLoCo's outer optimizer of a run in that mode, from the trainer's parameters (and a saved momentum). */
function newOuter(trainer: Trainer, spec: RunSpec, momentum?: Float32Array): OuterOptimizer | undefined {
  if (spec.sync.mode !== 'diloco') return undefined;
  return new OuterOptimizer(trainer.params, { ...spec.sync, finalStep: spec.steps }, momentum);
}

function newTrainer(
  model: GPTModel,
  spec: RunSpec,
  optimizer?: ConstructorParameters<typeof Trainer>[2],
): Trainer {
  const { lr, minLr, warmupSteps, schedule, weightDecay, gradClip } = spec.optimizer;
  return new Trainer(
    model,
    {
      schedule: { lr, minLr, warmupSteps, schedule, totalSteps: spec.steps },
      adamw: { weightDecay },
      gradClip,
      seed: spec.seed,
      sharedGradients: true, // all-reduced in place by the collective thread
    },
    optimizer,
  );
}
