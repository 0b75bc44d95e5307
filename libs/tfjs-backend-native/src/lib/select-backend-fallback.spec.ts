/** Backend selection where the native addon is unavailable (forced off before it is first loaded). */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, nativeAddonStatus } from '../index';

process.env.FORGE_NATIVE_ADDON = 'off';

afterAll(() => {
  delete process.env.FORGE_NATIVE_ADDON;
});

describe('initBackend without the native addon', () => {
  it('reports the addon as not loaded, with the reason', () => {
    expect(nativeAddonStatus()).toMatchObject({ loaded: false, error: 'disabled by FORGE_NATIVE_ADDON=off' });
  });

  it('falls back to wasm in auto, saying why native was skipped', async () => {
    const info = await initBackend('auto');
    expect(info).toMatchObject({ name: 'wasm', fusedKernels: true, numThreads: 1 });
    expect(info.skipped).toContainEqual({ name: 'native', reason: 'disabled by FORGE_NATIVE_ADDON=off' });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('throws when native is asked for explicitly', async () => {
    await expect(initBackend('native')).rejects.toThrow(
      /backend native is unavailable: disabled by FORGE_NATIVE_ADDON=off/,
    );
  });
});
