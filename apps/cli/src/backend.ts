/** Starts the compute backend chosen by FORGE_BACKEND (default: the fastest available). */
import { initBackend, type BackendInfo } from '@llm-forge/tfjs-backend-native';

/** Initialises the backend once per process. */
export async function startBackend(): Promise<BackendInfo> {
  return initBackend(process.env.FORGE_BACKEND ?? 'auto');
}
