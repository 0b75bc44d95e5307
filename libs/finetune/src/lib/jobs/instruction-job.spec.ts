/** Instruction finetune jobs: equal to finetuneInstructions on one rank, to one rank on two, and their outputs. */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { finetuneResultSchema, type InstructionEvaluation } from '@llm-forge/cluster-protocol';
import { GPTModel, loadModel } from '@llm-forge/gpt';
import { useBackend } from '@llm-forge/gpt/testing';
import { loadInstructionData } from '../instruction/instruction-data';
import { splitInstructionData } from '../instruction/instruction-dataset';
import { finetuneInstructions } from '../instruction/instruction-finetune';
import { mergedParameters } from '../instruction/instruction-lora';
import { ALPACA_STYLE } from '../instruction/prompt-style';
import { loadResponses } from '../instruction/responses';
import { FinetuneAbortedError } from './finetune-aborted-error';
import { runFinetuneJob, trainFinetuneJob } from './finetune-job';
import type { InstructionTask } from './instruction-task';
import { runRanks } from './test-utils/in-process-all-reduce';
import {
  createJobFixture,
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

  /** finetuneInstructions on the same base, data and settings. */
  async function singleMachine(lora?: { rank: number; alpha: number }) {
    const split = splitInstructionData(loadInstructionData(fx.alpacaFile), { seed: SEED });
    const base = loadModel(fx.baseDir);
    const model = GPTModel.fromParameters(base.config, base.params);
    const summary = await finetuneInstructions(model, split, {
      style: ALPACA_STYLE,
      ...HYPER,
      seed: SEED,
      evalEvery: 0,
      lora,
    });
    const params = summary.adapters ? mergedParameters(model, summary.adapters) : model.readParameters();
    summary.adapters?.dispose();
    model.dispose();
    return { summary, params };
  }

  it('on one rank takes the same steps as finetuneInstructions (all weights, through Trainer)', async () => {
    const expected = await singleMachine();
    const [rank0] = await train(1);
    expect(rank0.losses).toHaveLength(6);
    expect(maxAbsDiff(rank0.losses, expected.summary.stepLosses)).toBeLessThan(1e-5);
    expect(maxAbsDiff(rank0.model, expected.params)).toBeLessThan(1e-5);
    expect(rank0.initial?.trainLoss).toBeCloseTo(expected.summary.initial.trainLoss, 4);
    expect(rank0.initial?.valLoss).toBeCloseTo(expected.summary.initial.valLoss, 4);
  });

  it('with LoRA takes the same steps as finetuneInstructions with lora', async () => {
    const expected = await singleMachine({ rank: 2, alpha: 4 });
    const [rank0] = await train(1, { lora: { rank: 2, alpha: 4 } });
    expect(maxAbsDiff(rank0.losses, expected.summary.stepLosses)).toBeLessThan(1e-5);
    expect(maxAbsDiff(rank0.model, expected.params)).toBeLessThan(1e-5);
  });

  it.each([
    ['alpaca', {}],
    [
      'phi3 with the instruction masked (slices of unequal token counts)',
      { style: 'phi3', maskInstruction: true },
    ],
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
          spec({ maxResponses: 2, judge: { url: judge.url, model: 'fixed' } }),
          jobContext(outDir, rank, 2, allReduce),
          { maxNewTokens: 8 },
        ),
      );
      expect(o1.evaluation).toBeUndefined();
      const result = { ok: true as const, workerId: 'w0', rank: 0, ...o0, jobMs: 1 };
      expect(finetuneResultSchema.parse(result)).toEqual(result);
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
        spec({ maxResponses: 1, judge: { url: failing.url, model: 'fixed' } }),
        jobContext(fx.outDir('judge-fails'), 0, 1, async () => undefined),
        { maxNewTokens: 8 },
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
      spec({ maxResponses: 3 }),
      jobContext(fx.outDir('abort-responses'), 0, 1, async () => undefined, { abortReason }),
      { maxNewTokens: 4 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FinetuneAbortedError);
    expect((error as FinetuneAbortedError).step).toBe(6);
    expect(checks).toBe(8);
  });
});
