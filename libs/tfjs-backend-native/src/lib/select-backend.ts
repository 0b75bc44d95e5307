/**
 * Choosing and starting the TensorFlow.js backend: FORGE_BACKEND = auto | tensorflow | native |
 * wasm | cpu. `auto` takes the first that starts of tensorflow (tfjs-node-gpu, then tfjs-node, when
 * installed), native (when the addon is built), wasm; cpu is the last resort.
 *
 * Environment: FORGE_BACKEND (the choice), FORGE_NUM_THREADS (native threads, default all cores),
 * FORGE_MALLOC_TUNING=0 (native: keep glibc's default of mapping large allocations afresh, see
 * tuneMalloc in native/addon.cc), FORGE_NATIVE_ADDON (another addon file, or `off`).
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { registerCpuKernels } from './backends/cpu-kernels';
import { NATIVE_BACKEND, registerNativeBackend } from './backends/native-backend';
import { prepareWasmBackend, WASM_BACKEND } from './backends/wasm-backend';
import { BackendError } from './errors/backend-error';
import { ForgeLayerNorm } from './kernel-names';
import { heapPages, hugePagesWarning, secondaryArenaWarning } from './native/heap-pages';
import { getNativeAddon, nativeAddonStatus, type HugePagesResult } from './native/native-addon';
import { resolveThreadCount } from './native/thread-count';

/** A backend initBackend can start. */
export type BackendName = 'tensorflow' | 'native' | 'wasm' | 'cpu';

/** What initBackend accepts: a backend, or `auto` for the fastest one available. */
export type BackendChoice = 'auto' | BackendName;

const CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'native', 'wasm', 'cpu'];

/** The backend initBackend started. */
export interface BackendInfo {
  /** The active tfjs backend. */
  name: BackendName;
  /** Whether the Forge fused kernels are registered for it (native: C++, wasm and cpu: JavaScript). */
  fusedKernels: boolean;
  /** Threads its kernels use (FORGE_NUM_THREADS for native; 1 for wasm and cpu in Node). */
  numThreads: number;
  /** Backends preferred to this one that were not used, and why (empty unless `auto` fell back). */
  skipped: Array<{ name: BackendName; reason: string }>;
  /** The OpenBLAS kernel family, e.g. "SkylakeX" (native only). */
  blasCore?: string;
}

/** Why a backend cannot start, and what to do about it. */
interface Unavailable {
  reason: string;
  hint?: string;
}

type Starter = () => Promise<Unavailable | undefined>;

/** The first of @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node that resolves and loads. */
async function startTensorflow(): Promise<Unavailable | undefined> {
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    let resolved: string;
    try {
      resolved = require.resolve(pkg, { paths: [process.cwd(), __dirname] });
    } catch {
      reasons.push(`${pkg} is not installed`);
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(resolved);
    } catch (error) {
      reasons.push(`${pkg} failed to load: ${(error as Error).message.split('\n')[0]}`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow') && (await tf.setBackend('tensorflow'))) return undefined;
    reasons.push(`${pkg} loaded but its 'tensorflow' backend did not start`);
  }
  return {
    reason: reasons.join('; '),
    hint: 'npm install @tensorflow/tfjs-node (or -gpu) matching tfjs-core 4.22',
  };
}

async function startNative(): Promise<Unavailable | undefined> {
  const addon = getNativeAddon();
  if (!addon) {
    // The status's error already says what to do.
    return { reason: nativeAddonStatus().error ?? 'the native addon did not load' };
  }
  addon.setNumThreads(resolveThreadCount());
  tuneProcessMalloc();
  registerNativeBackend(addon);
  if (await tf.setBackend(NATIVE_BACKEND)) return undefined;
  return { reason: 'the native backend failed to start', hint: 'see the warning above' };
}

/**
 * Tunes glibc's malloc for training, once the native addon is available and unless
 * FORGE_MALLOC_TUNING=0: large tensors are kept for reuse instead of being mapped afresh every
 * step, and every thread allocates from one arena (see tuneMalloc in native/addon.cc); returns
 * whether it did. `initBackend('native')` calls it; a process that trains on a thread of its own
 * (a worker thread) must call it on its main thread before starting that thread, or the thread's
 * own arena gives its memory back as soon as it is free and every step faults it in again.
 */
export function tuneProcessMalloc(): boolean {
  if (process.env.FORGE_MALLOC_TUNING === '0') return false;
  return getNativeAddon()?.tuneMalloc() ?? false;
}

let hugePagesSettled = false;

/**
 * Once per process, after its first training step (when the heap holds the step's working set):
 * huge pages for the malloc heap, which tuneProcessMalloc made the home of every tensor and flat
 * buffer. A GEMM over gigabytes of operands in 4 KiB pages spends its time walking page tables;
 * in 2 MiB pages a `small` step was ~3.5% and a GPT-2 124M step ~4–7% faster, at the same RSS
 * (docs/benchmarks.md). Collapsing costs 1–2 s per GiB, once. Does nothing (undefined) after its
 * first call, with FORGE_HUGE_PAGES=0 or FORGE_MALLOC_TUNING=0, or without the native addon; the
 * result says what the kernel allowed (THP set to `never`, a kernel before 6.1, fragmentation), and
 * where the heap still ends up mostly in 4 KiB pages a process warning (code `FORGE_HUGE_PAGES`)
 * says so; where the calling thread allocates from a secondary malloc arena (see `oneArenaEnv`),
 * another (code `FORGE_MALLOC_ARENA`).
 */
export function settleHugePages(): HugePagesResult | undefined {
  if (hugePagesSettled) return undefined;
  hugePagesSettled = true;
  if (process.env.FORGE_HUGE_PAGES === '0' || process.env.FORGE_MALLOC_TUNING === '0') return undefined;
  if (tf.getBackend() !== NATIVE_BACKEND) return undefined;
  const addon = getNativeAddon();
  const result = addon?.adviseHugePages?.(true);
  // Elsewhere than Linux there are no transparent huge pages to ask for: nothing to warn about.
  // The heap's figures (a read of /proc/self/smaps) are wanted only when the kernel reported an error.
  const linux = process.platform === 'linux';
  const arena =
    linux && addon?.mallocArena?.() === 'secondary' ? secondaryArenaWarning(process.memoryUsage.rss()) : undefined;
  if (arena) process.emitWarning(arena, { code: 'FORGE_MALLOC_ARENA' });
  const warning = linux && result?.error ? hugePagesWarning(result, heapPages()) : undefined;
  if (warning) process.emitWarning(warning, { code: 'FORGE_HUGE_PAGES' });
  return result;
}

async function startWasm(): Promise<Unavailable | undefined> {
  try {
    await prepareWasmBackend();
  } catch (error) {
    return {
      reason: `@tensorflow/tfjs-backend-wasm failed to load: ${(error as Error).message}`,
      hint: 'npm ci',
    };
  }
  if (await tf.setBackend(WASM_BACKEND)) return undefined;
  return { reason: 'the wasm module failed to initialise', hint: 'see the warning above' };
}

async function startCpu(): Promise<Unavailable | undefined> {
  registerCpuKernels();
  if (!(await tf.setBackend('cpu'))) return { reason: 'the cpu backend failed to start', hint: 'npm ci' };
  // MathBackendCPU advertises tfjs-node on first use; BackendInfo.skipped already says why not.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  return undefined;
}

const STARTERS: Record<BackendName, Starter> = {
  tensorflow: startTensorflow,
  native: startNative,
  wasm: startWasm,
  cpu: startCpu,
};

function describe(name: BackendName, skipped: BackendInfo['skipped']): BackendInfo {
  const addon = name === 'native' ? getNativeAddon() : null;
  return {
    name,
    fusedKernels: tf.getKernel(ForgeLayerNorm, name) !== undefined,
    numThreads: addon ? addon.getNumThreads() : name === 'tensorflow' ? os.availableParallelism() : 1,
    skipped,
    ...(addon ? { blasCore: addon.blasCoreName() } : {}),
  };
}

/**
 * Starts a TensorFlow.js backend and makes it the active one.
 *
 * @param choice - `auto` (tensorflow, then native, then wasm, then cpu: the first that starts),
 *   or a backend by name, which must start or this throws. Defaults to FORGE_BACKEND, else `auto`.
 * @returns which backend runs, whether it has the fused kernels, its thread count and, for
 *   `auto`, why faster backends were skipped.
 * @throws BackendError for an unknown choice (naming FORGE_BACKEND), an invalid FORGE_NUM_THREADS,
 *   or an explicitly chosen backend that cannot start (saying why and what to do).
 */
export async function initBackend(
  choice: string = process.env.FORGE_BACKEND ?? 'auto',
): Promise<BackendInfo> {
  const wanted = (choice.trim() || 'auto').toLowerCase() as BackendChoice;
  if (!CHOICES.includes(wanted)) {
    throw new BackendError(
      `unknown backend ${JSON.stringify(choice)}: FORGE_BACKEND must be one of ${CHOICES.join(', ')}`,
      'unset FORGE_BACKEND to pick the fastest available',
    );
  }
  resolveThreadCount(); // a bad FORGE_NUM_THREADS is an error whatever the backend
  if (wanted !== 'auto') {
    const unavailable = await STARTERS[wanted]();
    if (unavailable)
      throw new BackendError(`backend ${wanted} is unavailable: ${unavailable.reason}`, unavailable.hint);
    return describe(wanted, []);
  }
  const skipped: BackendInfo['skipped'] = [];
  for (const name of ['tensorflow', 'native', 'wasm'] as const) {
    const unavailable = await STARTERS[name]();
    if (!unavailable) return describe(name, skipped);
    skipped.push({ name, reason: unavailable.reason });
  }
  const unavailable = await startCpu();
  if (unavailable)
    throw new BackendError(
      `no backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
      unavailable.hint,
    );
  return describe('cpu', skipped);
}
