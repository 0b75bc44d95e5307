/**
 * A DiLoCo rank's way back to its last outer step: after inner steps, rolling back restores the
 * parameters, AdamW moments and step count of the outer step exactly; after an outer step it keeps
 * the newer outer step; between outer steps it records nothing.
 */
import { ArrayTokenStream, DistributedBatchLoader } from '@llm-forge/data-shards';
import { GPTModel, Trainer } from '@llm-forge/gpt';
import { TEST_CONFIG } from '@llm-forge/gpt/testing';
import { initBackend } from '@llm-forge/tfjs-backend-native';
import { SINGLE_PROCESS } from '../collective/gradient-collective';
import { rowShare } from './local-share';
import { OuterOptimizer } from './outer-optimizer';
import { OuterStepMark } from './outer-step-mark';
import { TrainingLoop } from './training-loop';

describe('OuterStepMark', () => {
  const config = { ...TEST_CONFIG, vocabSize: 128 };
  let model: GPTModel;
  beforeAll(async () => {
    await initBackend();
    model = GPTModel.random(config, 0);
  });
  afterAll(() => model.dispose());

  it('puts the replica back at the outer step it recorded, or keeps a later one it completed', async () => {
    const schedule = { lr: 1e-2, minLr: 1e-3, warmupSteps: 0, totalSteps: 20, schedule: 'cosine' as const };
    const trainer = new Trainer(model, { schedule });
    const outer = new OuterOptimizer(trainer.params, { innerSteps: 3, outerLr: 0.7, outerMomentum: 0.9 });
    const loop = new TrainingLoop(trainer, SINGLE_PROCESS, { outer });
    const tokens = new ArrayTokenStream(Int32Array.from({ length: 2000 }, (_, i) => (i * 7) % 128));
    const loader = new DistributedBatchLoader(tokens, {
      contextLength: config.contextLength,
      batchSize: 2,
      seed: 0,
      rank: 0,
      worldSize: 1,
    });
    const steps = async (n: number) => {
      for (let i = 0; i < n; i++) await loop.step(rowShare(loader.next(), 2));
    };
    const state = () => {
      const { m, v, step } = trainer.optimizer.state;
      return { params: trainer.params.slice(), m: m.slice(), v: v.slice(), step };
    };

    const mark = new OuterStepMark(trainer, outer);
    await steps(3); // 3 inner steps and an outer step
    expect(mark.take()).toBe(true);
    const atOuter = state();
    await steps(2); // inner steps 4 and 5
    expect(state().step).toBe(5);
    expect(mark.rollBack()).toBe(true);
    expect(state()).toEqual(atOuter);

    await steps(3); // 4, 5, 6 and the outer step after 6: rolling back keeps step 6
    const later = state();
    expect(later.step).toBe(6);
    expect(mark.rollBack()).toBe(true);
    expect(state()).toEqual(later);

    await steps(1); // step 7: between outer steps, nothing to come back to
    expect(mark.take()).toBe(false);
    expect(mark.rollBack()).toBe(false);
  });
});
