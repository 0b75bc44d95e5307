/** Test helper: run a suite once per tfjs backend that can start on this machine. */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@llm-forge/tfjs-backend-native';

/** Backends every suite may try, fastest first. `FORGE_TEST_BACKENDS=native,wasm` narrows them. */
export function testBackends(all = ['native', 'wasm', 'cpu']): string[] {
  const wanted = process.env.FORGE_TEST_BACKENDS?.split(',').map((s) => s.trim());
  return wanted ? all.filter((b) => wanted.includes(b)) : all;
}

/** Activates `name`; returns false (and logs why) when it cannot start here. */
export async function useBackend(name: string): Promise<boolean> {
  try {
    await initBackend(name);
    return tf.getBackend() === name;
  } catch (error) {
    console.warn(`backend ${name} unavailable, its tests are skipped: ${(error as Error).message}`);
    return false;
  }
}
