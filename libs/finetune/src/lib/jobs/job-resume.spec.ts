/**
 * Finetune jobs stop on an abort and continue from a saved state exactly; a corrupt state, or one of
 * another spec, is refused naming the file (the coordinator then falls back to an older one).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { FinetuneSpecInput, InstructionEvaluation } from '@llm-forge/cluster-protocol';
import { CheckpointError, CHECKSUMS_FILE } from '@llm-forge/gpt';
import { useBackend } from '@llm-forge/gpt/testing';
import { GPTClassifier } from '../classification/classifier';
import { FinetuneAbortedError } from './finetune-aborted-error';
import { runFinetuneJob, type FinetuneJobOutcome } from './finetune-job';
import { STATE_SAVE_WAIT_MS } from './finetune-replica';
import { STATE_DIR, STATE_TENSORS_FILE } from './job-state';
import { runRanks } from './test-utils/in-process-all-reduce';
import {
  createJobFixture,
  jobContext,
  jobSpec,
  maxAbsDiff,
  type JobFixture,
} from './test-utils/job-fixtures';

describe('finetune job state', () => {
  let fx: JobFixture;
  const spec = (extra: Partial<FinetuneSpecInput> = {}) =>
    jobSpec({
      kind: 'classification',
      baseCheckpoint: fx.baseDir,
      dataset: fx.classificationFile,
      hyperparameters: { epochs: 2, batchSize: 6, lr: 1e-3 },
      seed: 3,
      checkpointEvery: 2,
      ...extra,
    });

  beforeAll(async () => {
    if (!(await useBackend('native'))) await useBackend('wasm');
    fx = createJobFixture();
  });
  afterAll(() => fx.cleanup());

  /**
   * Runs the job on two ranks, from the state `resumeFrom` names (a step) when given; with
   * `stopAfter`, both stop before the step after it.
   */
  async function run(
    outDir: string,
    options: {
      stopAfter?: number;
      extra?: Partial<FinetuneSpecInput>;
      worldSize?: number;
      resumeFrom?: number;
    } = {},
  ) {
    const worldSize = options.worldSize ?? 2;
    let done = 0;
    const logs: string[] = [];
    const abortReason = () =>
      options.stopAfter !== undefined && done >= options.stopAfter ? 'test stop' : undefined;
    const outcomes = await runRanks(worldSize, (rank, allReduce) =>
      runFinetuneJob(
        spec(options.extra),
        jobContext(outDir, rank, worldSize, allReduce, {
          abortReason,
          ...(options.resumeFrom !== undefined ? { resumeFrom: stateDir(outDir, options.resumeFrom) } : {}),
          onProgress: (p) => (done = p.step),
          log: (message, fields) => logs.push(`${message} ${JSON.stringify(fields ?? {})}`),
        }),
      ),
    );
    return { outcome: outcomes[0], logs };
  }

  /** Body, head and step losses of a finished classification job. */
  function finalState(outcome: FinetuneJobOutcome) {
    const classifier = GPTClassifier.load(outcome.modelDir as string);
    const state = {
      body: classifier.model.readParameters(),
      head: Float32Array.from([...classifier.weight.dataSync(), ...classifier.bias.dataSync()]),
      losses: (outcome.history ?? []).map((h) => h.trainLoss),
      steps: (outcome.history ?? []).map((h) => h.step),
    };
    classifier.dispose();
    return state;
  }

  let reference: ReturnType<typeof finalState>;
  beforeAll(async () => {
    reference = finalState((await run(fx.outDir('uninterrupted'))).outcome);
  });

  function expectSameAsReference(outcome: FinetuneJobOutcome) {
    const resumed = finalState(outcome);
    expect(resumed.steps).toEqual(reference.steps);
    expect(maxAbsDiff(resumed.losses, reference.losses)).toBeLessThan(1e-6);
    expect(maxAbsDiff(resumed.head, reference.head)).toBeLessThan(1e-6);
    expect(maxAbsDiff(resumed.body, reference.body)).toBeLessThan(1e-6);
  }

  const states = (outDir: string) => fs.readdirSync(path.join(outDir, STATE_DIR)).sort();
  const stateDir = (outDir: string, step: number) =>
    path.join(outDir, STATE_DIR, `step-${String(step).padStart(6, '0')}`);

  /** Flips one byte of a state's tensors (in the AdamW moments); returns the file. */
  function corrupt(outDir: string, step: number): string {
    const bad = path.join(stateDir(outDir, step), STATE_TENSORS_FILE);
    const bytes = fs.readFileSync(bad);
    bytes[bytes.length - 10] ^= 0xff;
    fs.writeFileSync(bad, bytes);
    return bad;
  }

  it('resumes after an abort with the same losses and weights as an uninterrupted run', async () => {
    const outDir = fx.outDir('resumed');
    await expect(run(outDir, { stopAfter: 7 })).rejects.toThrow(FinetuneAbortedError);
    expect(states(outDir)).toEqual(['step-000004', 'step-000006']);
    const { outcome, logs } = await run(outDir, { resumeFrom: 6 });
    expect(logs.some((l) => l.startsWith('resuming at step 6 of 12'))).toBe(true);
    expect(outcome.steps).toBe(12);
    expectSameAsReference(outcome);
    expect(states(outDir)).toEqual(['step-000010', 'step-000012']);
  });

  it('refuses a corrupt state naming the file; the one before still gives the uninterrupted result', async () => {
    const outDir = fx.outDir('corrupt');
    await expect(run(outDir, { stopAfter: 7 })).rejects.toThrow(FinetuneAbortedError);
    const bad = corrupt(outDir, 6);
    const error = await run(outDir, { resumeFrom: 6 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).file).toBe(bad);
    expect((error as Error).message).toContain('checkpoint is corrupt (checksum mismatch)');
    const { outcome, logs } = await run(outDir, { resumeFrom: 4 });
    expect(logs.some((l) => l.startsWith('resuming at step 4 of 12'))).toBe(true);
    expectSameAsReference(outcome);
    expect(states(outDir)).toEqual(['step-000010', 'step-000012']);
  });

  it('still verifies a state written before checksums.json by the tensors sha256 in its state.json', async () => {
    const outDir = fx.outDir('legacy');
    await expect(run(outDir, { stopAfter: 7 })).rejects.toThrow(FinetuneAbortedError);
    fs.rmSync(path.join(stateDir(outDir, 6), CHECKSUMS_FILE)); // as an older version wrote it
    const bad = corrupt(outDir, 6);
    await expect(run(outDir, { resumeFrom: 6 })).rejects.toThrow(
      `${bad}: checkpoint is corrupt (checksum mismatch)`,
    );
  });

  it('resumes on another number of ranks (the state does not depend on it)', async () => {
    const outDir = fx.outDir('regrouped');
    await expect(run(outDir, { stopAfter: 5 })).rejects.toThrow(FinetuneAbortedError);
    const { outcome, logs } = await run(outDir, { worldSize: 3, resumeFrom: 4 });
    expect(logs.some((l) => l.startsWith('resuming at step 4 of 12'))).toBe(true);
    const resumed = finalState(outcome);
    expect(maxAbsDiff(resumed.losses, reference.losses)).toBeLessThan(1e-4);
    expect(maxAbsDiff(resumed.head, reference.head)).toBeLessThan(1e-4);
  });

  it('the other ranks wait for a state save in a barrier with a long timeout, not in the next step', async () => {
    const outDir = fx.outDir('barrier');
    const calls: Array<{ rank: number; length: number; timeoutMs?: number; states: number }> = [];
    const saved = () => (fs.existsSync(path.join(outDir, STATE_DIR)) ? states(outDir).length : 0);
    await runRanks(2, (rank, allReduce) =>
      runFinetuneJob(
        spec(),
        jobContext(outDir, rank, 2, (values, options) => {
          calls.push({ rank, length: values.length, timeoutMs: options?.timeoutMs, states: saved() });
          return allReduce(values);
        }),
      ),
    );
    const barriers = calls.filter((c) => c.timeoutMs !== undefined);
    expect(barriers.every((c) => c.length === 1 && c.timeoutMs === STATE_SAVE_WAIT_MS)).toBe(true);
    // 12 steps, a save every 2 (epochs end at 6 and 12): 6 saves, a barrier on each rank after each
    expect(barriers.filter((c) => c.rank === 0)).toHaveLength(6);
    expect(barriers.filter((c) => c.rank === 1)).toHaveLength(6);
    // rank 0 reaches the barrier only once its state is on disk
    expect(barriers.filter((c) => c.rank === 0).every((c) => c.states > 0)).toBe(true);
  });

  it('refuses a state of another spec, naming its state.json', async () => {
    const outDir = fx.outDir('respec');
    await expect(run(outDir, { stopAfter: 3 })).rejects.toThrow(FinetuneAbortedError);
    const other = { hyperparameters: { epochs: 1, batchSize: 6, lr: 2e-3 } };
    await expect(run(outDir, { extra: other, resumeFrom: 2 })).rejects.toThrow(
      /state\.json: was written for a different spec/,
    );
  });

  it('stops promptly with a FinetuneAbortedError when a timer asks during a long run', async () => {
    let reason: string | undefined;
    let askedAt = 0;
    // A timer set during training fires only because the loop yields to the event loop every step.
    // 1200 steps log every 8th: the first report comes after step 8.
    const onProgress = ({ step }: { step: number }) => {
      if (step === 8) setTimeout(() => ((reason = 'cancelled'), (askedAt = performance.now())), 0);
    };
    const error = await runFinetuneJob(
      spec({ hyperparameters: { epochs: 200, batchSize: 6, lr: 1e-3 }, checkpointEvery: 0 }),
      jobContext(fx.outDir('abort'), 0, 1, async () => undefined, { abortReason: () => reason, onProgress }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FinetuneAbortedError);
    expect((error as FinetuneAbortedError).reason).toBe('cancelled');
    expect((error as FinetuneAbortedError).step).toBeGreaterThanOrEqual(8);
    expect((error as FinetuneAbortedError).step).toBeLessThanOrEqual(10);
    // Within a few steps of a tiny model, with room for a loaded CI machine (a miss would run on).
    expect(performance.now() - askedAt).toBeLessThan(3000);
  });

  it("takes an instruction job's initial losses from the saved state on resume", async () => {
    const instruction = {
      kind: 'instruction' as const,
      dataset: fx.alpacaFile,
      hyperparameters: { epochs: 1, batchSize: 4, lr: 1e-3 },
      maxResponses: 0,
    };
    const full = await run(fx.outDir('instruction-full'), { extra: instruction });
    const outDir = fx.outDir('instruction-resumed');
    await expect(run(outDir, { stopAfter: 3, extra: instruction })).rejects.toThrow(FinetuneAbortedError);
    const resumed = await run(outDir, { extra: instruction, resumeFrom: 2 });
    const [a, b] = [full, resumed].map((r) => r.outcome.evaluation as InstructionEvaluation);
    expect(b.initialTrainLoss).toBe(a.initialTrainLoss);
    expect(b.initialValLoss).toBe(a.initialValLoss);
    expect(Math.abs(b.trainLoss - a.trainLoss)).toBeLessThan(1e-6);
  });
});
