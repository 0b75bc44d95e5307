/**
 * Golden test against ../shared/fixtures/gpt2-tiny: logits, eval loss and five AdamW steps
 * computed by an independent float64 PyTorch implementation. Tolerances are the fixture's own.
 *
 * The logits are checked on every backend. The eval loss and the AdamW steps (20 batches of
 * 4 x 64 tokens through a 50,257-wide head: over a minute on wasm) run on the primary backend, the
 * first that starts (native, else wasm); backend-equivalence.spec.ts holds the others to it on
 * loss, gradients and AdamW steps with a smaller vocabulary.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { loadModel } from '../checkpoint';
import { createTokenizer } from '../tokenizer/tokenizer';
import { slidingWindows } from '../data/sliding-windows';
import { windowBatches, type Batch } from '../data/window-batches';
import { GPTModel } from './gpt-model';
import { meanLoss } from '../training/evaluate';
import { Trainer } from '../training/trainer';
import { describeIfShared, sharedPath } from '../test-utils/shared-data';
import { testBackends, useBackend } from '../test-utils/backends';

interface Expected {
  eval: { context_length: number; stride: number; batch_size: number; batches: number; loss: number };
  train: {
    lr: number;
    weight_decay: number;
    grad_clip_global_norm: number;
    step_losses: number[];
    loss_after_training_on_eval_batches: number;
  };
  logits: {
    tokens: number[];
    top20_last_position: Array<[number, number]>;
    logsumexp_per_position: number[];
  };
}

function logSumExp(row: Float32Array | number[]): number {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return max + Math.log(sum);
}

describeIfShared('GPT-2 numerics against the float64 PyTorch reference', () => {
  const fixture = sharedPath('fixtures', 'gpt2-tiny');
  const expected = JSON.parse(fs.readFileSync(`${fixture}/expected.json`, 'utf8')) as Expected;
  const ids = createTokenizer().encode(fs.readFileSync(sharedPath('data', 'the-verdict.txt'), 'utf8'));
  const evalBatches = (): Batch[] => {
    const { context_length: T, stride, batch_size: B } = expected.eval;
    return windowBatches(slidingWindows(ids, T, stride), B);
  };

  let primary: string | undefined;
  describe.each(testBackends())('on the %s backend', (backend) => {
    let model: GPTModel;
    let available = false;
    const isPrimary = (): boolean => available && primary === backend;
    beforeAll(async () => {
      available = await useBackend(backend);
      if (!available) return;
      primary ??= backend;
      const { config, params } = loadModel(fixture);
      model = GPTModel.fromParameters(config, params);
    });
    afterAll(() => model?.dispose());

    it('matches the reference logits (top 20 at the last position, logsumexp everywhere)', () => {
      if (!available) return;
      const tokens = expected.logits.tokens;
      const logits = tf.tidy(() => model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32')));
      const values = logits.dataSync() as Float32Array;
      const V = model.config.vocabSize;
      logits.dispose();
      const last = values.subarray((tokens.length - 1) * V, tokens.length * V);
      for (const [id, logit] of expected.logits.top20_last_position)
        expect(Math.abs(last[id] - logit)).toBeLessThan(3e-5);
      expected.logits.logsumexp_per_position.forEach((lse, t) => {
        expect(Math.abs(logSumExp(values.subarray(t * V, (t + 1) * V)) - lse)).toBeLessThan(3e-5);
      });
    });

    it('matches the reference eval loss', () => {
      if (!isPrimary()) return; // the other backends: backend-equivalence.spec.ts
      const { loss, batches } = meanLoss(model, evalBatches());
      expect(batches).toBe(expected.eval.batches);
      expect(Math.abs(loss - expected.eval.loss) / expected.eval.loss).toBeLessThan(1e-4);
    });

    it('matches five AdamW steps with clipping, then the eval loss after them', () => {
      if (!isPrimary()) return;
      const t = expected.train;
      const trainer = new Trainer(model, {
        schedule: {
          lr: t.lr,
          minLr: t.lr,
          warmupSteps: 0,
          totalSteps: t.step_losses.length,
          schedule: 'constant',
        },
        adamw: { weightDecay: t.weight_decay },
        gradClip: t.grad_clip_global_norm,
      });
      const batches = evalBatches();
      const losses = t.step_losses.map((_, k) => trainer.step([batches[k]]).loss);
      losses.forEach((loss, k) => expect(Math.abs(loss - t.step_losses[k])).toBeLessThan(1e-4));
      const after = meanLoss(model, batches).loss;
      expect(Math.abs(after - t.loss_after_training_on_eval_batches)).toBeLessThan(1e-4);
    });
  });
});
