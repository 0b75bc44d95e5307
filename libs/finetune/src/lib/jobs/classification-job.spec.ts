/**
 * Classification finetune jobs: at world size 1 (what `forge finetune classify` runs) they train
 * only the selected tensors and learn; N ranks equal one; the outputs and the spec's settings.
 */
import * as fs from 'fs';
import * as path from 'path';
import { useBackend } from '@llm-forge/gpt/testing';
import { SINGLE_PROCESS } from '@llm-forge/training';
import { GPTClassifier } from '../classification/classifier';
import { evaluateSplit } from '../classification/evaluate-split';
import {
  finetuneMetricSchema,
  finetuneStepReportSchema,
  type ClassificationEvaluation,
  type FinetuneSpecInput,
} from '@llm-forge/cluster-protocol';
import {
  runFinetuneJob,
  trainFinetuneJob,
  type FinetuneJobOutcome,
  type FinetuneProgress,
} from './finetune-job';
import { ClassificationTask } from './classification-task';
import { runRanks } from './test-utils/in-process-all-reduce';
import {
  createJobFixture,
  jobContext,
  jobSpec,
  maxAbsDiff,
  sameBytes,
  type JobFixture,
} from './test-utils/job-fixtures';

const SEED = 11;
// Batch 6 over 32 training examples: 6 steps per epoch, the last batch of 2 rows (a rank of 3 gets none).
const HYPER = { epochs: 2, batchSize: 6, lr: 1e-3, weightDecay: 0.1 };

describe('classification finetune job', () => {
  let fx: JobFixture;
  const spec = (extra: Partial<FinetuneSpecInput> = {}) =>
    jobSpec({
      kind: 'classification',
      baseCheckpoint: fx.baseDir,
      dataset: fx.classificationFile,
      hyperparameters: HYPER,
      train: 'last-block',
      seed: SEED,
      checkpointEvery: 0,
      ...extra,
    });

  beforeAll(async () => {
    if (!(await useBackend('native'))) await useBackend('wasm');
    fx = createJobFixture();
  });
  afterAll(() => fx.cleanup());

  /** Trains on `worldSize` ranks; rank 0's step losses and every rank's final trainable values. */
  async function train(worldSize: number) {
    const outDir = fx.outDir(`ws${worldSize}`);
    return runRanks(worldSize, async (rank, allReduce) => {
      const job = await trainFinetuneJob(spec(), jobContext(outDir, rank, worldSize, allReduce));
      const result = {
        losses: job.history.losses(),
        values: job.trainer.params.slice(),
        evals: job.history.points.filter((p) => p.valLoss !== undefined),
      };
      job.task.dispose();
      return result;
    });
  }

  /** The single-process context of `forge finetune classify`: no collective, no resumable state. */
  const alone = (outDir: string) => ({ collective: SINGLE_PROCESS, outDir, resumable: false });

  it('alone, trains only the last block, the final norm and the head with train last-block', async () => {
    const untrained = ClassificationTask.create(spec());
    const before = untrained.classifier.model.readParameters();
    const head = untrained.classifier.weight.dataSync().slice();
    const outDir = fx.outDir('last-block');
    const job = await trainFinetuneJob(spec(), alone(outDir), ClassificationTask.create(spec()));
    const { classifier } = job.task;
    const after = classifier.model.readParameters();
    for (const p of classifier.model.layout.specs) {
      const changed = after.subarray(p.offset, p.offset + p.size).some((v, i) => v !== before[p.offset + i]);
      const trainable = p.name.startsWith('h.1.') || p.name.startsWith('ln_f.');
      expect([p.name, changed]).toEqual([p.name, trainable]);
    }
    expect(classifier.weight.dataSync()).not.toEqual(head);
    const lastBlock = classifier.model.layout.specs.filter(
      (p) => p.name.startsWith('h.1.') || p.name.startsWith('ln_f.'),
    );
    expect(job.trainer.params.length).toBe(lastBlock.reduce((n, p) => n + p.size, 0) + 2 * 32 + 2);
    expect(job.trainer.stepsDone).toBe(12);
    expect(fs.readdirSync(outDir)).toEqual([]); // no resumable state
    untrained.dispose();
    job.task.dispose();
  });

  it('alone, learns a separable task when every parameter trains: the epoch train loss falls', async () => {
    const learn = spec({ train: 'all', hyperparameters: { epochs: 6, batchSize: 8, lr: 2e-3 } });
    const outDir = fx.outDir('learns');
    const outcome = await runFinetuneJob(learn, alone(outDir));
    const epochs = (outcome.history ?? []).filter((p) => p.trainEvalLoss !== undefined);
    expect(epochs.map((p) => p.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(epochs[5].trainEvalLoss).toBeLessThan(epochs[0].trainEvalLoss as number);
    const evaluation = outcome.evaluation as ClassificationEvaluation;
    expect(evaluation.accuracy.train).toBeGreaterThanOrEqual(0.9);
    // No resumable state at world size 1 unless asked for.
    expect(fs.readdirSync(outDir)).toEqual(['model']);
  });

  it("defines an epoch's train loss once: the loss over the first evalBatches training batches", async () => {
    const job = await trainFinetuneJob(spec({ evalBatches: 2 }), alone(fx.outDir('epoch-loss')));
    const task = job.task as ClassificationTask;
    const last = job.history.evaluations().at(-1);
    const { train } = task.data.splits;
    const head = { tokens: train.tokens.slice(0, 2 * 6), labels: train.labels.slice(0, 2 * 6) };
    const m = evaluateSplit(task.classifier, head, 6);
    expect(last?.step).toBe(12);
    expect(last?.trainEvalLoss).toBeCloseTo(m.loss, 5);
    expect(last?.trainAccuracy).toBeCloseTo(m.accuracy, 6);
    task.dispose();
  });

  it('honours labels, pooling and the split fractions of the spec', async () => {
    const task = ClassificationTask.create(
      spec({ labels: ['spam', 'ham'], pooling: 'last-non-pad', valFraction: 0.25, testFraction: 0.25 }),
    );
    expect(task.data.labels).toEqual(['spam', 'ham']);
    expect(task.classifier.spec.pooling).toBe('last-non-pad');
    // 24 examples per class: 12 train, 6 validation, 6 test each.
    const sizes = Object.values(task.data.splits).map((s) => s.labels.length);
    expect(sizes).toEqual([24, 12, 12]);
    task.dispose();
    expect(() => ClassificationTask.create(spec({ labels: ['ham', 'junk'] }))).toThrow(
      /spam\.csv:\d+: unknown label "spam"/,
    );
  });

  it.each([2, 3])('on %i ranks gives the losses of one rank and identical replicas', async (worldSize) => {
    const [single] = await train(1);
    const ranks = await train(worldSize);
    expect(maxAbsDiff(ranks[0].losses, single.losses)).toBeLessThan(1e-4);
    expect(maxAbsDiff(ranks[0].values, single.values)).toBeLessThan(1e-4);
    for (const r of ranks.slice(1)) expect(sameBytes(r.values, ranks[0].values)).toBe(true);
    // The epoch-end evaluation, shared among the ranks, gives the one-rank values.
    expect(ranks[0].evals.map((e) => e.step)).toEqual([6, 12]);
    const metrics = (evals: typeof single.evals) =>
      evals.flatMap((e) => [
        e.valLoss ?? NaN,
        e.valAccuracy ?? NaN,
        e.trainAccuracy ?? NaN,
        e.trainEvalLoss ?? NaN,
      ]);
    expect(maxAbsDiff(metrics(ranks[0].evals), metrics(single.evals))).toBeLessThan(1e-4);
  });

  it('evaluates every split consistently with the predictions and saves a loadable classifier', async () => {
    const outDir = fx.outDir('outputs');
    const reports: FinetuneProgress[] = [];
    const outcomes: FinetuneJobOutcome[] = await runRanks(2, (rank, allReduce) =>
      runFinetuneJob(spec(), jobContext(outDir, rank, 2, allReduce, { onProgress: (p) => reports.push(p) })),
    );
    const [o0, o1] = outcomes;
    // What a worker reports passes the protocol's schemas unchanged.
    const report = {
      totalSteps: o0.steps,
      epoch: 2,
      trainableParameters: o0.trainableParameters,
      totalParameters: o0.totalParameters,
      modelDir: o0.modelDir,
      evaluation: o0.evaluation,
    };
    expect(finetuneStepReportSchema.parse(report)).toEqual(report);
    for (const p of reports.flatMap((r) => r.history)) expect(finetuneMetricSchema.parse(p)).toEqual(p);
    const progress = reports.map((p) => p.step);
    expect(o1).toEqual({
      steps: 12,
      trainableParameters: o0.trainableParameters,
      totalParameters: o0.totalParameters,
    });
    expect(o0.steps).toBe(12);
    expect(o0.modelDir).toBe(path.join(outDir, 'model'));
    expect(progress).toEqual([...Array(12).keys()].map((i) => i + 1)); // rank 0 only, every step
    const history = o0.history ?? [];
    expect(history.map((h) => h.step)).toEqual(progress);
    expect(history.filter((h) => h.valLoss !== undefined).map((h) => h.step)).toEqual([6, 12]);
    expect(history[5]).toMatchObject({
      epoch: 1,
      valAccuracy: expect.any(Number),
      trainAccuracy: expect.any(Number),
      trainEvalLoss: expect.any(Number),
    });

    const evaluation = o0.evaluation as ClassificationEvaluation;
    expect(evaluation.labels).toEqual(['ham', 'spam']);
    const loaded = GPTClassifier.load(o0.modelDir as string);
    const task = ClassificationTask.create(spec()); // the job's splits
    for (const name of ['train', 'validation', 'test'] as const) {
      const m = evaluateSplit(loaded, task.data.splits[name], 6);
      expect(evaluation.accuracy[name]).toBeCloseTo(m.accuracy, 10);
      expect(evaluation.splits[name].loss).toBeCloseTo(m.loss, 5);
      expect(evaluation.splits[name].perLabel.map((p) => p.f1)).toEqual(
        ['ham', 'spam'].map((l) => m.classes[l].f1),
      );
      if (name === 'test') expect(evaluation.confusionMatrix).toEqual(m.confusion);
    }
    expect(evaluation.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(12);
    // The last epoch's evaluation (shared by the two ranks) saw the final model.
    expect(history[11].valLoss).toBeCloseTo(evaluation.splits.validation.loss, 5);
    expect(history[11].valAccuracy).toBeCloseTo(evaluation.accuracy.validation, 6);
    // The saved head is the trained one: the trainables of a classifier trained on one rank.
    const [single] = await train(1);
    const head = Float32Array.from([...loaded.weight.dataSync(), ...loaded.bias.dataSync()]);
    expect(maxAbsDiff(head, single.values.subarray(single.values.length - head.length))).toBeLessThan(1e-4);
    loaded.dispose();
    task.dispose();
  });
});
