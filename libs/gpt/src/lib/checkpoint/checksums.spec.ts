import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CheckpointError } from '../errors/forge-error';
import type { GPTConfig } from '../model/config';
import { parameterLayout } from '../model/parameter-layout';
import { CHECKSUMS_FILE, readChecksums, sha256File } from './checksums';
import { loadModel, loadModelConfig, saveModel } from './model-io';
import { loadCheckpoint, loadTrainerState, saveCheckpoint } from './training-checkpoint';

const CONFIG: GPTConfig = {
  vocabSize: 13,
  contextLength: 6,
  embDim: 8,
  nHeads: 2,
  nLayers: 1,
  dropRate: 0,
  qkvBias: true,
  tiedHead: false,
  layerNormEpsilon: 1e-5,
};
const SIZE = parameterLayout(CONFIG).totalSize;
const filled = (f: (i: number) => number) => Float32Array.from({ length: SIZE }, (_, i) => f(i));

/** Flips bits of the byte `fromEnd` bytes before the end of `file` (tensor data, not the header). */
function flipByte(file: string, fromEnd = 5): void {
  const bytes = fs.readFileSync(file);
  const size = bytes.length;
  bytes[size - fromEnd] ^= 0x5a;
  fs.writeFileSync(file, bytes);
  expect(fs.statSync(file).size).toBe(size); // the size is unchanged: only a checksum can tell
}

/** The CheckpointError `load` throws. */
function errorOf(load: () => unknown): CheckpointError {
  try {
    load();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('expected the load to throw');
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-sums-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('checkpoint checksums', () => {
  const saveFull = (dir: string) =>
    saveCheckpoint(dir, {
      config: CONFIG,
      params: filled((i) => Math.sin(i)),
      optimizer: { m: filled((i) => i * 1e-3), v: filled((i) => i * 1e-6), step: 7 },
      trainerState: { step: 7, data: { epoch: 0 } },
    });

  it('records the sha256 of every file of a checkpoint', () => {
    const dir = path.join(tmp, 'ckpt');
    saveFull(dir);
    const recorded = readChecksums(dir);
    expect(Object.keys(recorded ?? {}).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'trainer_state.json',
    ]);
    for (const [name, hash] of Object.entries(recorded ?? {})) {
      expect(hash).toBe(sha256File(path.join(dir, name)));
    }
  });

  it('refuses a model whose tensor bytes were flipped, naming the file', () => {
    const dir = path.join(tmp, 'model');
    saveModel(
      dir,
      CONFIG,
      filled((i) => Math.cos(i)),
    );
    expect(loadModel(dir).params[SIZE - 1]).toBeCloseTo(Math.cos(SIZE - 1), 6);
    flipByte(path.join(dir, 'model.safetensors'));
    const error = errorOf(() => loadModel(dir));
    expect(error.file).toBe(path.join(dir, 'model.safetensors'));
    expect(error.message).toContain(
      `${path.join(dir, 'model.safetensors')}: checkpoint is corrupt (checksum mismatch)`,
    );
  });

  it('refuses a training checkpoint with a flipped optimizer moment or trainer state', () => {
    const dir = path.join(tmp, 'ckpt');
    saveFull(dir);
    flipByte(path.join(dir, 'optimizer.safetensors'));
    expect(errorOf(() => loadCheckpoint(dir)).file).toBe(path.join(dir, 'optimizer.safetensors'));

    const other = path.join(tmp, 'ckpt2');
    saveFull(other);
    const stateFile = path.join(other, 'trainer_state.json');
    fs.writeFileSync(stateFile, fs.readFileSync(stateFile, 'utf8').replace('"step": 7', '"step": 9'));
    expect(errorOf(() => loadTrainerState(other)).message).toContain('checksum mismatch');
    expect(errorOf(() => loadCheckpoint(other)).file).toBe(stateFile);
  });

  it('refuses an edited config.json and an unreadable checksums.json', () => {
    const dir = path.join(tmp, 'model');
    saveModel(
      dir,
      CONFIG,
      filled(() => 0.5),
    );
    const configFile = path.join(dir, 'config.json');
    fs.appendFileSync(configFile, ' ');
    expect(errorOf(() => loadModelConfig(dir)).file).toBe(configFile);

    const other = path.join(tmp, 'model2');
    saveModel(
      other,
      CONFIG,
      filled(() => 0.5),
    );
    fs.writeFileSync(path.join(other, CHECKSUMS_FILE), '{"format": "llm-forge-checksums/1", "files": 3');
    expect(errorOf(() => loadModel(other)).file).toBe(path.join(other, CHECKSUMS_FILE));
  });

  it('still loads a checkpoint written before checksums (no checksums.json), unverified', () => {
    const dir = path.join(tmp, 'old');
    saveFull(dir);
    fs.rmSync(path.join(dir, CHECKSUMS_FILE));
    const loaded = loadCheckpoint(dir);
    expect(loaded.optimizer?.step).toBe(7);
    expect(loaded.trainerState).toEqual({ step: 7, data: { epoch: 0 } });
  });

  it('verifies a replaced checkpoint against its new record', () => {
    const dir = path.join(tmp, 'model');
    saveModel(
      dir,
      CONFIG,
      filled(() => 0.25),
    );
    saveModel(
      dir,
      CONFIG,
      filled(() => 0.75),
      { overwrite: true },
    );
    expect(loadModel(dir).params[0]).toBe(0.75);
  });
});
