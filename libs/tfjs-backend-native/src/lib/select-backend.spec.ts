import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, initBackend, nativeAddonStatus } from '../index';

/** Runs fn with environment variables set, restoring them after. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const tensorflowInstalled = (() => {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

describe('initBackend', () => {
  it('rejects an unknown choice, naming FORGE_BACKEND and the valid values', async () => {
    await expect(initBackend('gpu')).rejects.toThrow(BackendError);
    await expect(initBackend('gpu')).rejects.toThrow(
      /unknown backend "gpu": FORGE_BACKEND must be one of auto, tensorflow, native, wasm, cpu/,
    );
    await withEnv({ FORGE_BACKEND: 'fast' }, async () => {
      await expect(initBackend()).rejects.toThrow(/unknown backend "fast": FORGE_BACKEND/);
    });
  });

  it('rejects an invalid FORGE_NUM_THREADS, naming it', async () => {
    await withEnv({ FORGE_NUM_THREADS: 'zero' }, async () => {
      await expect(initBackend('cpu')).rejects.toThrow(
        /FORGE_NUM_THREADS must be a positive integer, got "zero"/,
      );
    });
  });

  (tensorflowInstalled ? it.skip : it)('says why tensorflow is unavailable and what to do', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(
      /backend tensorflow is unavailable: @tensorflow\/tfjs-node-gpu is not installed; @tensorflow\/tfjs-node is not installed \(npm install @tensorflow\/tfjs-node/,
    );
  });

  it('auto picks native when the addon is built, otherwise wasm, and says what it skipped', async () => {
    const info = await initBackend('auto');
    const expected = nativeAddonStatus().loaded ? 'native' : 'wasm';
    expect(info).toMatchObject({ name: expected, fusedKernels: true });
    expect(tf.getBackend()).toBe(expected);
    if (!tensorflowInstalled)
      expect(info.skipped[0]).toMatchObject({
        name: 'tensorflow',
        reason: expect.stringMatching(/not installed/),
      });
  });

  it.each(['wasm', 'cpu'])('starts %s explicitly with the JS fused kernels, one thread', async (name) => {
    await expect(initBackend(` ${name.toUpperCase()} `)).resolves.toEqual({
      name,
      fusedKernels: true,
      numThreads: 1,
      skipped: [],
    });
    expect(tf.getBackend()).toBe(name);
  });

  (nativeAddonStatus().loaded ? it : it.skip)('starts native with FORGE_NUM_THREADS threads', async () => {
    await withEnv({ FORGE_NUM_THREADS: '1' }, async () => {
      await expect(initBackend('native')).resolves.toMatchObject({
        name: 'native',
        fusedKernels: true,
        numThreads: 1,
      });
    });
    const info = await initBackend('native');
    expect(info.numThreads).toBe(os.availableParallelism());
    expect(info.blasCore).toEqual(expect.any(String));
  });
});
