import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CheckpointError } from '../errors/forge-error';
import type { GPTConfig } from '../model/config';
import { parameterLayout } from '../model/parameter-layout';
import { writeDirAtomic } from './atomic-write';
import { loadModel } from './model-io';
import { withSafetensorsFile } from './safetensors-reader';
import { loadCheckpoint, saveCheckpoint } from './training-checkpoint';

const CONFIG: GPTConfig = {
  vocabSize: 13,
  contextLength: 6,
  embDim: 8,
  nHeads: 2,
  nLayers: 1,
  dropRate: 0.1,
  qkvBias: true,
  tiedHead: false,
  layerNormEpsilon: 1e-5,
};
const SIZE = parameterLayout(CONFIG).totalSize;
const filled = (f: (i: number) => number) => Float32Array.from({ length: SIZE }, (_, i) => f(i));

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-ckpt-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips params, AdamW moments, step and trainer state', () => {
    const dir = path.join(tmp, 'ckpt');
    const checkpoint = {
      config: CONFIG,
      params: filled((i) => Math.sin(i)),
      optimizer: { m: filled((i) => i * 1e-3), v: filled((i) => i * 1e-6), step: 42 },
      trainerState: {
        position: { epoch: 1, batchIndex: 3 },
        rng: { algorithm: 'xoshiro128**', s: [1, 2, 3, 4] },
      },
    };
    saveCheckpoint(dir, checkpoint);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'checksums.json',
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'trainer_state.json',
    ]);
    expect(loadCheckpoint(dir)).toEqual(checkpoint);
    expect(loadModel(dir).params).toEqual(checkpoint.params); // a checkpoint is also a model folder
    withSafetensorsFile(path.join(dir, 'optimizer.safetensors'), (st) => {
      expect(st.metadata['step']).toBe('42');
      expect(st.info('h.0.attn.c_attn.weight.exp_avg_sq').shape).toEqual([8, 24]);
    });
  });

  it('leaves optimizer and trainer state undefined when absent', () => {
    const dir = path.join(tmp, 'ckpt');
    saveCheckpoint(dir, { config: CONFIG, params: filled(() => 1) });
    const loaded = loadCheckpoint(dir);
    expect(loaded.optimizer).toBeUndefined();
    expect(loaded.trainerState).toBeUndefined();
  });

  it('refuses to replace an existing checkpoint unless overwrite is set, then replaces it whole', () => {
    const dir = path.join(tmp, 'ckpt');
    saveCheckpoint(dir, { config: CONFIG, params: filled(() => 1), trainerState: { v: 1 } });
    expect(() => saveCheckpoint(dir, { config: CONFIG, params: filled(() => 2) })).toThrow(
      /ckpt: already exists \(pass --overwrite to replace it, or choose another --out\)/,
    );
    expect(loadCheckpoint(dir).params[0]).toBe(1);
    saveCheckpoint(dir, { config: CONFIG, params: filled(() => 2) }, { overwrite: true });
    const loaded = loadCheckpoint(dir);
    expect(loaded.params[0]).toBe(2);
    expect(loaded.trainerState).toBeUndefined(); // the old folder was replaced, not merged
    expect(fs.readdirSync(tmp)).toEqual(['ckpt']); // no .tmp-/.old- leftovers
  });

  it('keeps the old checkpoint intact when writing the new one fails', () => {
    const dir = path.join(tmp, 'ckpt');
    saveCheckpoint(dir, { config: CONFIG, params: filled(() => 1) });
    expect(() =>
      writeDirAtomic(
        dir,
        (t) => {
          fs.writeFileSync(path.join(t, 'config.json'), 'half');
          throw new Error('disk full');
        },
        { overwrite: true },
      ),
    ).toThrow('disk full');
    expect(loadCheckpoint(dir).params[0]).toBe(1);
    expect(fs.readdirSync(tmp)).toEqual(['ckpt']);
  });

  it('refuses to overwrite a folder that is not a checkpoint', () => {
    const dir = path.join(tmp, 'home');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'precious');
    expect(() =>
      saveCheckpoint(dir, { config: CONFIG, params: filled(() => 1) }, { overwrite: true }),
    ).toThrow(/refusing to replace a folder that is not a checkpoint/);
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('precious');
  });

  it('names the corrupt file and the missing folder', () => {
    const dir = path.join(tmp, 'ckpt');
    saveCheckpoint(dir, {
      config: CONFIG,
      params: filled(() => 1),
      optimizer: { m: filled(() => 0), v: filled(() => 0), step: 1 },
      trainerState: {},
    });
    const opt = path.join(dir, 'optimizer.safetensors');
    const bytes = fs.readFileSync(opt);
    fs.chmodSync(opt, 0o644);
    fs.writeFileSync(opt, bytes.subarray(0, bytes.length - 4));
    expect(() => loadCheckpoint(dir)).toThrow(CheckpointError);
    expect(() => loadCheckpoint(dir)).toThrow(/optimizer\.safetensors: .*truncated/);
    fs.writeFileSync(path.join(dir, 'trainer_state.json'), '{');
    fs.rmSync(opt);
    expect(() => loadCheckpoint(dir)).toThrow(/trainer_state\.json: cannot be read as JSON/);
    expect(() => loadCheckpoint(path.join(tmp, 'missing'))).toThrow(/missing: does not exist/);
  });

  it('points at the previous checkpoint when an interrupted replace left it aside', () => {
    const dir = path.join(tmp, 'ckpt');
    saveCheckpoint(dir, { config: CONFIG, params: filled(() => 1) });
    fs.renameSync(dir, `${dir}.old-abcd1234`);
    expect(() => loadCheckpoint(dir)).toThrow(/previous checkpoint at .*ckpt\.old-abcd1234; rename it back/);
  });

  it('validates optimizer sizes and step', () => {
    const params = filled(() => 1);
    const bad = { m: new Float32Array(3), v: filled(() => 0), step: 1 };
    expect(() => saveCheckpoint(path.join(tmp, 'c'), { config: CONFIG, params, optimizer: bad })).toThrow(
      /optimizer\.m\.length/,
    );
    const badStep = { m: filled(() => 0), v: filled(() => 0), step: -1 };
    expect(() => saveCheckpoint(path.join(tmp, 'c'), { config: CONFIG, params, optimizer: badStep })).toThrow(
      /optimizer\.step/,
    );
    expect(fs.existsSync(path.join(tmp, 'c'))).toBe(false);
  });
});
