/** Finetune jobs stop on an abort and resume from their saved state exactly; a corrupt state falls back. */
import * as fs from 'fs';
import * as path from 'path';
import type { FinetuneSpecInput, InstructionEvaluation } from '@llm-forge/cluster-protocol';
import { CHECKSUMS_FILE } from '@llm-forge/gpt';
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

  /** Runs the job on two ranks; with `stopAfter`, both stop before the step after it. */
  async function run(
    outDir: string,
    options: { stopAfter?: number; extra?: Partial<FinetuneSpecInput>; worldSize?: number } = {},
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

  it('resumes after an abort with the same losses and weights as an uninterrupted run', async () => {
    const outDir = fx.outDir('resumed');
    await expect(run(outDir, { stopAfter: 7 })).rejects.toThrow(FinetuneAbortedError);
    expect(states(outDir)).toEqual(['step-000004', 'step-000006']);
    const { outcome, logs } = await run(outDir);
    expect(logs.some((l) => l.startsWith('resuming at step 6 of 12'))).toBe(true);
    expect(outcome.steps).toBe(12);
    expectSameAsReference(outcome);
    expect(states(outDir)).toEqual(['step-000010', 'step-000012']);
  });

  it('skips a corrupt newest state with a warning naming the file and resumes from the one before', async () => {
    const outDir = fx.outDir('corrupt');
    await expect(run(outDir, { stopAfter: 7 })).rejects.toThrow(FinetuneAbortedError);
    const bad = path.join(outDir, STATE_DIR, 'step-000006', STATE_TENSORS_FILE);
    const bytes = fs.readFileSync(bad);
    bytes[bytes.length - 10] ^= 0xff; // one flipped byte in the AdamW moments
    fs.writeFileSync(bad, bytes);
    const { outcome, logs } = await run(outDir);
    const warnings = logs.filter((l) => l.startsWith('skipping resumable state step-000006'));
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toContain(bad);
    expect(warnings[0]).toContain('checkpoint is corrupt (checksum mismatch)');
    expect(logs.some((l) => l.startsWith('resuming at step 4 of 12'))).toBe(true);
    expectSameAsReference(outcome);
    expect(states(outDir)).toEqual(['step-000010', 'step-000012']);
  });

  it('still verifies a state written before checksums.json by the tensors sha256 in its state.json', async () => {
    const outDir = fx.outDir('legacy');
    await expect(run(outDir, { stopAfter: 7 })).rejects.toThrow(FinetuneAbortedError);
    const stateDir = path.join(outDir, STATE_DIR, 'step-000006');
    fs.rmSync(path.join(stateDir, CHECKSUMS_FILE)); // as an older version wrote it
    const bad = path.join(stateDir, STATE_TENSORS_FILE);
    const bytes = fs.readFileSync(bad);
    bytes[bytes.length - 10] ^= 0xff;
    fs.writeFileSync(bad, bytes);
    const { logs } = await run(outDir);
    const warnings = logs.filter((l) => l.startsWith('skipping resumable state step-000006'));
    expect(warnings[0]).toContain(`${bad}: checkpoint is corrupt (checksum mismatch)`);
    expect(logs.some((l) => l.startsWith('resuming at step 4 of 12'))).toBe(true);
  });

  it('resumes on another number of ranks (the state does not depend on it)', async () => {
    const outDir = fx.outDir('regrouped');
    await expect(run(outDir, { stopAfter: 5 })).rejects.toThrow(FinetuneAbortedError);
    const { outcome, logs } = await run(outDir, { worldSize: 3 });
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

  it('refuses to train when the ranks resumed from different states', async () => {
    const saved = fx.outDir('saved');
    await expect(run(saved, { stopAfter: 5 })).rejects.toThrow(FinetuneAbortedError);
    const elsewhere = fx.outDir('elsewhere');
    const attempt = runRanks(2, (rank, allReduce) =>
      runFinetuneJob(spec(), jobContext(rank === 0 ? saved : elsewhere, rank, 2, allReduce)),
    );
    await expect(attempt).rejects.toThrow(/resumed from different states/);
  });

  it('starts afresh, with a warning, when the saved states belong to another spec', async () => {
    const outDir = fx.outDir('respec');
    await expect(run(outDir, { stopAfter: 3 })).rejects.toThrow(FinetuneAbortedError);
    const { outcome, logs } = await run(outDir, {
      extra: { hyperparameters: { epochs: 1, batchSize: 6, lr: 2e-3 } },
    });
    expect(logs.some((l) => l.includes('was written for a different spec'))).toBe(true);
    expect(logs.some((l) => l.startsWith('resuming'))).toBe(false);
    expect(outcome.steps).toBe(6);
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
    const resumed = await run(outDir, { extra: instruction });
    const [a, b] = [full, resumed].map((r) => r.outcome.evaluation as InstructionEvaluation);
    expect(b.initialTrainLoss).toBe(a.initialTrainLoss);
    expect(b.initialValLoss).toBe(a.initialValLoss);
    expect(Math.abs(b.trainLoss - a.trainLoss)).toBeLessThan(1e-6);
  });
});
