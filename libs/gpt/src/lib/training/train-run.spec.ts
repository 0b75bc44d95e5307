import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GPTModel } from '../model/gpt-model';
import { loadCheckpoint, saveCheckpoint } from '../checkpoint';
import { TrainingRun, type TrainRunOptions, type TrainerState } from './train-run';
import { TEST_CONFIG, TEST_TEXT, randomModel } from '../test-utils/tiny-model';
import { useBackend } from '../test-utils/backends';
import { maxAbsDiff } from '../test-utils/compare';

const options: TrainRunOptions = {
  contextLength: 16,
  stride: 8,
  batchSize: 2,
  steps: 10,
  gradAccumulation: 2,
  lr: 5e-3,
  minLr: 5e-4,
  warmupSteps: 2,
  schedule: 'cosine',
  weightDecay: 0.1,
  gradClip: 1,
  shuffle: true,
  valFraction: 0.1,
  evalEvery: 5,
  evalBatches: 2,
  seed: 7,
};

describe('TrainingRun', () => {
  let tmp: string;
  beforeAll(async () => {
    if (!(await useBackend('native'))) await useBackend('wasm');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-run-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('resumes exactly: 10 steps straight equal 5 steps, save, load, 5 steps (dropout, shuffling, accumulation on)', async () => {
    const config = { ...TEST_CONFIG, dropRate: 0.1 };
    const straightModel = randomModel(config, 11);
    const straight = await new TrainingRun(straightModel, TEST_TEXT, options).run();
    const straightParams = straightModel.readParameters();

    const firstModel = randomModel(config, 11);
    const firstRun = new TrainingRun(firstModel, TEST_TEXT, options);
    await firstRun.run({}, 5);
    const dir = path.join(tmp, 'half');
    saveCheckpoint(dir, {
      config: firstModel.config,
      params: firstRun.trainer.params,
      optimizer: firstRun.trainer.optimizer.state,
      trainerState: firstRun.state(),
    });
    firstModel.dispose();

    const saved = loadCheckpoint(dir);
    const resumedModel = GPTModel.fromParameters(saved.config, saved.params);
    const state = saved.trainerState as TrainerState;
    expect(state.step).toBe(5);
    const resumed = await new TrainingRun(resumedModel, TEST_TEXT, state.options, {
      optimizer: saved.optimizer!,
      state,
    }).run();

    expect(resumed.stepLosses).toEqual(straight.stepLosses);
    expect(resumed.finalValLoss).toBe(straight.finalValLoss);
    // Bit-equal parameters (jest's toEqual on 1.6M floats takes seconds).
    expect(maxAbsDiff(resumedModel.readParameters(), straightParams)).toBe(0);
    straightModel.dispose();
    resumedModel.dispose();
  });

  it('reports losses per step, evaluations and throughput', async () => {
    const model = randomModel(TEST_CONFIG, 11);
    const evals: number[] = [];
    const summary = await new TrainingRun(model, TEST_TEXT, { ...options, steps: 6, shuffle: false }).run({
      onEval: (e) => evals.push(e.step),
    });
    expect(summary.stepLosses).toHaveLength(6);
    expect(evals).toEqual([5, 6]);
    expect(summary.tokensPerSecond).toBeGreaterThan(0);
    expect(summary.finalValLoss).toBeGreaterThan(0);
    expect(summary.sample).toMatch(/^Every effort moves you/);
    model.dispose();
  });

  it('rejects a context length beyond the model and a text too short for one window', () => {
    const model = randomModel(TEST_CONFIG, 11);
    expect(() => new TrainingRun(model, TEST_TEXT, { ...options, contextLength: 32 })).toThrow(
      /context-length/,
    );
    expect(() => new TrainingRun(model, 'too short', options)).toThrow(/tokens/);
    model.dispose();
  });
});
