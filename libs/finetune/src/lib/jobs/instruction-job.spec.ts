/**
 * Instruction finetune jobs: at world size 1 (what `forge finetune instruct` runs) they lower the
 * loss, learn a masked answer, train LoRA adapters only and stop early when asked; N ranks equal
 * one; the outputs and the judge.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import * as tf from '@tensorflow/tfjs-core';
import { finetuneStepReportSchema, type InstructionEvaluation } from '@llm-forge/cluster-protocol';
import { GPTModel, loadModel, saveModel } from '@llm-forge/gpt';
import { useBackend } from '@llm-forge/gpt/testing';
import { SINGLE_PROCESS } from '@llm-forge/training';
import { mergedParameters } from '../lora/lora-merge';
import { loadResponses } from '../instruction/responses';
import { FinetuneAbortedError } from './finetune-aborted-error';
import { runFinetuneJob, trainFinetuneJob, type FinetuneJobContext } from './finetune-job';
import { InstructionTask } from './instruction-task';
import { runRanks } from './test-utils/in-process-all-reduce';
import {
  createJobFixture,
  JOB_CONFIG,
  jobContext,
  jobSpec,
  maxAbsDiff,
  sameBytes,
  type JobFixture,
} from './test-utils/job-fixtures';
import type { FinetuneSpecInput } from '@llm-forge/cluster-protocol';

const SEED = 5;
// 25 training entries, batch 4: 6 steps per epoch (the last entry dropped, as the book's loader).
const HYPER = { epochs: 1, batchSize: 4, lr: 1e-3, weightDecay: 0.1 };

/** A local OpenAI-compatible judge that answers every prompt with `content` (or fails). */
async function startJudge(content: string, status = 200) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('instruction finetune job', () => {
  let fx: JobFixture;
  const spec = (extra: Partial<FinetuneSpecInput> = {}) =>
    jobSpec({
      kind: 'instruction',
      baseCheckpoint: fx.baseDir,
      dataset: fx.alpacaFile,
      hyperparameters: HYPER,
      seed: SEED,
      checkpointEvery: 0,
      maxResponses: 0,
      ...extra,
    });

  beforeAll(async () => {
    if (!(await useBackend('native'))) await useBackend('wasm');
    fx = createJobFixture();
  });
  afterAll(() => fx.cleanup());

  /** Trains on `worldSize` ranks: rank 0's step losses, every rank's values and rank 0's model parameters. */
  async function train(worldSize: number, extra: Partial<FinetuneSpecInput> = {}) {
    const outDir = fx.outDir(`ws${worldSize}`);
    return runRanks(worldSize, async (rank, allReduce) => {
      const job = await trainFinetuneJob(spec(extra), jobContext(outDir, rank, worldSize, allReduce));
      const task = job.task as InstructionTask;
      const result = {
        losses: job.history.losses(),
        values: job.trainer.params.slice(),
        model: task.adapters ? mergedParameters(task.model, task.adapters) : task.model.readParameters(),
        initial: job.initial,
      };
      task.dispose();
      return result;
    });
  }

  /** The single-process context of `forge finetune instruct`: no collective, no resumable state. */
  const alone = (outDir: string, extra: Partial<FinetuneJobContext> = {}): FinetuneJobContext => ({
    collective: SINGLE_PROCESS,
    outDir,
    resumable: false,
    ...extra,
  });

  /** One Phi-3 example, ten times (8 train, 1 validation, 1 test): one batch of 8 per epoch. */
  function oneExampleFile(): string {
    const file = path.join(fx.root, 'one-example.json');
    const entry = { instruction: 'Name the color.', input: 'The color is red.', output: 'It is red.' };
    fs.writeFileSync(file, JSON.stringify(Array.from({ length: 10 }, () => entry)));
    return file;
  }
  const overfit = { epochs: 30, batchSize: 8, lr: 1e-2, weightDecay: 0.1 };

  it('alone, lowers the loss and evaluates every evalEvery steps and at the end of the epoch', async () => {
    const outcome = await runFinetuneJob(spec({ evalEvery: 2 }), alone(fx.outDir('alone')));
    const evals = (outcome.history ?? []).filter((p) => p.valLoss !== undefined);
    expect(evals.map((p) => p.step)).toEqual([2, 4, 6]);
    for (const p of evals) expect(p.trainEvalLoss).toEqual(expect.any(Number));
    const evaluation = outcome.evaluation as InstructionEvaluation;
    expect(evaluation.trainLoss).toBeLessThan(evaluation.initialTrainLoss);
    // The final losses are the last evaluation's: one definition of the train loss estimate.
    expect(evaluation.trainLoss).toBeCloseTo(evals[2].trainEvalLoss as number, 5);
    expect(evaluation.valLoss).toBeCloseTo(evals[2].valLoss as number, 5);
  });

  it('alone, with the instruction masked, overfits one example: the greedy answer is the trained output', async () => {
    const outcome = await runFinetuneJob(
      spec({
        dataset: oneExampleFile(),
        style: 'phi3',
        maskInstruction: true,
        hyperparameters: overfit,
        maxResponses: 1,
        maxNewTokens: 8,
      }),
      alone(fx.outDir('masked')),
    );
    const evaluation = outcome.evaluation as InstructionEvaluation;
    // Only the response tokens and the end-of-text carry loss.
    expect(evaluation.trainLoss).toBeLessThan(0.5);
    expect(evaluation.responses.map((r) => r.response)).toEqual(['It is red.']);
  });

  it('alone, with LoRA trains only the adapters and saves the base with them merged', async () => {
    // A random GPT-2 init caps the frozen tied head's logits near ±0.6, leaving adapters nothing to
    // learn; embeddings 25x larger stand in for a pretrained base that can be confident.
    const base = loadModel(fx.baseDir).params;
    const wte = GPTModel.fromParameters(JOB_CONFIG, base.slice());
    const spec0 = wte.layout.specs.find((p) => p.name === 'wte.weight')!;
    wte.dispose();
    for (let i = spec0.offset; i < spec0.offset + spec0.size; i++) base[i] *= 25;
    const baseDir = path.join(fx.root, 'confident-base');
    saveModel(baseDir, JOB_CONFIG, base, { overwrite: true });
    const loraSpec = spec({
      baseCheckpoint: baseDir,
      dataset: oneExampleFile(),
      style: 'phi3',
      hyperparameters: { ...overfit, epochs: 6, lr: 2e-2 },
      lora: { rank: 4, alpha: 8 },
    });
    const job = await trainFinetuneJob(loraSpec, alone(fx.outDir('lora')), InstructionTask.create(loraSpec));
    const { task } = job;
    // 2 blocks x (c_attn 32->96, c_proj 32->32, c_fc 32->128, mlp c_proj 128->32), rank 4.
    const perBlock = 4 * (32 + 96) + 4 * (32 + 32) + 4 * (32 + 128) + 4 * (128 + 32);
    expect(job.trainer.params.length).toBe(2 * perBlock);
    expect(sameBytes(task.model.readParameters(), base)).toBe(true); // the base stayed frozen
    const evals = job.history.evaluations();
    expect(evals.at(-1)?.trainEvalLoss).toBeLessThan((job.initial?.trainLoss as number) - 5);

    const { modelDir } = await task.finish({ outDir: fx.outDir('lora-out') });
    expect(fs.existsSync(path.join(modelDir, 'adapter', 'adapter_config.json'))).toBe(true);
    const saved = loadModel(modelDir);
    const merged = GPTModel.fromParameters(saved.config, saved.params);
    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
    const [adapted, mergedLogits] = [task.model.forward(ids), merged.forward(ids)];
    expect(tf.max(tf.abs(tf.sub(adapted, mergedLogits))).dataSync()[0]).toBeLessThan(1e-4);
    tf.dispose([ids, adapted, mergedLogits]);
    merged.dispose();
    task.dispose();
  });

  it('alone, stops training when asked and still evaluates and saves', async () => {
    let done = 0;
    const outDir = fx.outDir('stopped');
    const outcome = await runFinetuneJob(
      spec({ maxResponses: 1, maxNewTokens: 2 }),
      alone(outDir, { onProgress: (p) => (done = p.step), stopTraining: () => done >= 2 }),
    );
    expect(outcome.steps).toBe(2);
    expect(outcome.history?.map((p) => p.step)).toEqual([1, 2]);
    expect((outcome.evaluation as InstructionEvaluation).responses).toHaveLength(1);
    expect(fs.existsSync(path.join(outDir, 'model', 'config.json'))).toBe(true);
  });

  it.each([
    ['alpaca', {}],
    [
      'phi3 with the instruction masked (slices of unequal token counts)',
      { style: 'phi3', maskInstruction: true },
    ],
    ['LoRA', { lora: { rank: 2, alpha: 4 } }],
  ] as const)('%s: two ranks give the losses of one and identical replicas', async (_, extra) => {
    const [single] = await train(1, extra);
    const ranks = await train(2, extra);
    expect(maxAbsDiff(ranks[0].losses, single.losses)).toBeLessThan(1e-4);
    expect(maxAbsDiff(ranks[0].values, single.values)).toBeLessThan(1e-4);
    expect(sameBytes(ranks[1].values, ranks[0].values)).toBe(true);
  });

  it('writes the model and responses.json and judges the responses', async () => {
    const judge = await startJudge('Score: 85');
    try {
      const outDir = fx.outDir('judged');
      const [o0, o1] = await runRanks(2, (rank, allReduce) =>
        runFinetuneJob(
          spec({ maxResponses: 2, maxNewTokens: 8, judge: { url: judge.url, model: 'fixed' } }),
          jobContext(outDir, rank, 2, allReduce),
        ),
      );
      expect(o1.evaluation).toBeUndefined();
      const report = {
        totalSteps: o0.steps,
        epoch: 1,
        trainableParameters: o0.trainableParameters,
        totalParameters: o0.totalParameters,
        modelDir: o0.modelDir,
        evaluation: o0.evaluation,
      };
      expect(finetuneStepReportSchema.parse(report)).toEqual(report);
      const evaluation = o0.evaluation as InstructionEvaluation;
      expect(evaluation.responses).toHaveLength(2);
      expect(evaluation.responses.map((r) => r.score)).toEqual([85, 85]);
      expect(evaluation.averageScore).toBe(85);
      expect(evaluation.judgeNote).toBeUndefined();
      expect(evaluation.trainLoss).toBeLessThan(evaluation.initialTrainLoss);
      const saved = loadResponses(evaluation.responsesFile);
      expect(saved.map((r) => r.model_response)).toEqual(evaluation.responses.map((r) => r.response));
      const model = loadModel(o0.modelDir as string);
      expect(model.params.length).toBe(GPTModel.fromParameters(model.config, model.params).parameterCount);
    } finally {
      await judge.close();
    }
  });

  it('reports a failing judge or none as a note, not a failure', async () => {
    const failing = await startJudge('boom', 500);
    try {
      const failed = await runFinetuneJob(
        spec({ maxResponses: 1, maxNewTokens: 8, judge: { url: failing.url, model: 'fixed' } }),
        jobContext(fx.outDir('judge-fails'), 0, 1, async () => undefined),
      );
      const evaluation = failed.evaluation as InstructionEvaluation;
      expect(evaluation.judgeNote).toMatch(/^judge failed: .*HTTP 500/);
      expect(evaluation.averageScore).toBeUndefined();
      expect(fs.existsSync(evaluation.responsesFile)).toBe(true);
    } finally {
      await failing.close();
    }
    const none = await runFinetuneJob(
      spec(),
      jobContext(fx.outDir('no-judge'), 0, 1, async () => undefined),
    );
    expect((none.evaluation as InstructionEvaluation).judgeNote).toBe('no judge configured');
  });

  it('stops between generated responses when asked to', async () => {
    let checks = 0;
    // 6 checks before the 6 steps, then one after each response: stop after the first response.
    const abortReason = () => (++checks > 7 ? 'superseded' : undefined);
    const error = await runFinetuneJob(
      spec({ maxResponses: 3, maxNewTokens: 4 }),
      jobContext(fx.outDir('abort-responses'), 0, 1, async () => undefined, { abortReason }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FinetuneAbortedError);
    expect((error as FinetuneAbortedError).step).toBe(6);
    expect(checks).toBe(8);
  });
});
