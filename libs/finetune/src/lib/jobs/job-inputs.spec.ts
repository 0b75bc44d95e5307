/** Bad job inputs fail with typed errors naming what is wrong; the logged history stays bounded. */
import * as fs from 'fs';
import * as path from 'path';
import type { FinetuneSpecInput } from '@llm-forge/cluster-protocol';
import { CheckpointError, ConfigError, DataError, ForgeError } from '@llm-forge/gpt';
import { useBackend } from '@llm-forge/gpt/testing';
import { runFinetuneJob } from './finetune-job';
import { JobHistory } from './job-history';
import { createJobFixture, jobContext, jobSpec, type JobFixture } from './test-utils/job-fixtures';

describe('finetune job inputs', () => {
  let fx: JobFixture;
  beforeAll(async () => {
    if (!(await useBackend('native'))) await useBackend('wasm');
    fx = createJobFixture();
  });
  afterAll(() => fx.cleanup());

  const run = (input: Partial<FinetuneSpecInput>, rank = 0, worldSize = 1) =>
    runFinetuneJob(
      jobSpec({
        kind: 'classification',
        dataset: fx.classificationFile,
        baseCheckpoint: fx.baseDir,
        ...input,
      }),
      jobContext(fx.outDir('bad'), rank, worldSize, async () => undefined),
    );

  it('names the file and line of a malformed classification row (DataError)', async () => {
    const file = path.join(fx.root, 'bad.csv');
    fs.writeFileSync(file, 'label,text\nham,hello there\nspam\n');
    const error = await run({ dataset: file }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toContain(`${file}:3: expected 2 fields`);
  });

  it('names the file and line of malformed instruction JSON (DataError)', async () => {
    const file = path.join(fx.root, 'bad.json');
    fs.writeFileSync(file, '[\n  {"instruction": "a", "output": "b"},\n  {"instruction": \n]\n');
    const error = await run({ kind: 'instruction', dataset: file }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/line 4/);
  });

  it('reports a missing dataset, a missing checkpoint and unusable settings as ForgeErrors', async () => {
    await expect(run({ dataset: path.join(fx.root, 'none.csv') })).rejects.toThrow(DataError);
    const missing = path.join(fx.root, 'no-model');
    const error = await run({ baseCheckpoint: missing }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).file).toBe(missing);
    await expect(run({ kind: 'instruction', dataset: fx.alpacaFile, train: 'last-block' })).rejects.toThrow(
      ConfigError,
    );
    await expect(
      run({ kind: 'instruction', dataset: fx.alpacaFile, hyperparameters: { maxLength: 64 } }),
    ).rejects.toThrow(/hyperparameters.maxLength must be an integer in \[2, 32\]/);
    await expect(
      run({ kind: 'instruction', dataset: fx.alpacaFile, hyperparameters: { batchSize: 40 } }),
    ).rejects.toThrow(/fewer than one batch of 40/);
    await expect(run({}, 2, 2)).rejects.toThrow(ConfigError);
    await expect(run({}, 0, 0)).rejects.toBeInstanceOf(ForgeError);
  });
});

describe('JobHistory', () => {
  it('keeps about 200 points however long the job', () => {
    const history = new JobHistory(100_000, 1000);
    let points = 0;
    for (let step = 1; step <= 100_000; step++) if (history.logsStep(step)) points++;
    let evaluated = 0;
    for (let epoch = 1; epoch <= 1000; epoch++) if (history.evaluatesEpoch(epoch)) evaluated++;
    expect(points).toBe(150);
    expect(evaluated).toBe(50);
    expect(new JobHistory(12, 2).every).toBe(1);
    expect(new JobHistory(12, 2).evaluatesEpoch(1)).toBe(true);
  });

  it('evaluates every evalEvery steps besides epoch ends, about 50 times at most', () => {
    const evaluated = (history: JobHistory, stepsPerEpoch: number) =>
      [...Array(history.totalSteps).keys()]
        .map((i) => i + 1)
        .filter((s) => history.evaluatesStep(s, stepsPerEpoch));
    expect(evaluated(new JobHistory(12, 2, [], 5), 6)).toEqual([5, 6, 10, 12]);
    expect(evaluated(new JobHistory(12, 2), 6)).toEqual([6, 12]);
    expect(evaluated(new JobHistory(100_000, 1, [], 5), 100_000)).toHaveLength(50);
  });
});
