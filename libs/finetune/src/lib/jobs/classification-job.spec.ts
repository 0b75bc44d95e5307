/** Classification finetune jobs: equal to finetuneClassifier on one rank, to one rank on several, and their outputs. */
import * as path from 'path';
import { createTokenizer, loadModel } from '@llm-forge/gpt';
import { useBackend } from '@llm-forge/gpt/testing';
import {
  balanceByDownsampling,
  encodeSplits,
  resolveLabels,
  stratifiedSplit,
} from '../classification/classification-dataset';
import { GPTClassifier } from '../classification/classifier';
import { evaluateSplit, finetuneClassifier } from '../classification/finetune-classifier';
import { readLabeledFile } from '../classification/labeled-text';
import { parseTrainSelection } from '../classification/trainable-selection';
import {
  finetuneProgressSchema,
  finetuneResultSchema,
  type ClassificationEvaluation,
  type FinetuneProgress,
} from '@llm-forge/cluster-protocol';
import { runFinetuneJob, trainFinetuneJob, type FinetuneJobOutcome } from './finetune-job';
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
  const spec = () =>
    jobSpec({
      kind: 'classification',
      baseCheckpoint: fx.baseDir,
      dataset: fx.classificationFile,
      hyperparameters: HYPER,
      train: 'last-block',
      seed: SEED,
      checkpointEvery: 0,
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

  it('on one rank takes the same steps as finetuneClassifier with the same settings', async () => {
    // The CLI's pipeline, by hand.
    const all = readLabeledFile(fx.classificationFile);
    const labels = resolveLabels(all);
    const split = stratifiedSplit(
      balanceByDownsampling(all, labels, SEED),
      labels,
      { train: 0.7, validation: 0.1 },
      SEED,
    );
    const { splits, maxLength } = encodeSplits(split, labels, createTokenizer(), { contextLength: 32 });
    const base = loadModel(fx.baseDir);
    const spec = { labels, pooling: 'last' as const, maxLength, padTokenId: 50256 };
    const classifier = GPTClassifier.fromBase(base.config, base.params, spec, SEED);
    const expected: number[] = [];
    finetuneClassifier(
      classifier,
      splits,
      { ...HYPER, train: parseTrainSelection('last-block'), seed: SEED },
      { onStep: (s) => expected.push(s.loss) },
    );
    const [rank0] = await train(1);
    expect(expected).toHaveLength(12);
    expect(rank0.losses).toHaveLength(12);
    expect(maxAbsDiff(rank0.losses, expected)).toBeLessThan(1e-5);
    expect(rank0.losses[11]).toBeLessThan(rank0.losses[0]);
    classifier.dispose();
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
      evals.flatMap((e) => [e.valLoss ?? NaN, e.valAccuracy ?? NaN, e.trainAccuracy ?? NaN]);
    expect(maxAbsDiff(metrics(ranks[0].evals), metrics(single.evals))).toBeLessThan(1e-4);
  });

  it('evaluates every split consistently with the predictions and saves a loadable classifier', async () => {
    const outDir = fx.outDir('outputs');
    const reports: FinetuneProgress[] = [];
    const outcomes: FinetuneJobOutcome[] = await runRanks(2, (rank, allReduce) =>
      runFinetuneJob(spec(), jobContext(outDir, rank, 2, allReduce, { onProgress: (p) => reports.push(p) })),
    );
    const [o0, o1] = outcomes;
    // What the worker reports passes the protocol's schemas unchanged.
    for (const [rank, outcome] of outcomes.entries()) {
      const result = { ok: true as const, workerId: `w${rank}`, rank, ...outcome, jobMs: 1 };
      expect(finetuneResultSchema.parse(result)).toEqual(result);
    }
    for (const p of reports) expect(finetuneProgressSchema.parse(p)).toEqual(p);
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
