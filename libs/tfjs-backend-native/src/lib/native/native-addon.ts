/**
 * Loading of the forge_native addon (build/Release/forge_native.node, built by
 * scripts/build-addon.js) and its typed interface. Loading is lazy and happens once; a missing or
 * broken addon is not an error here, only a status that backend selection and diagnostics report.
 */
import * as fs from 'fs';
import * as path from 'path';
import { openBlasCoreType } from './openblas-core';
import { resolveThreadCount } from './thread-count';

/** What {@link NativeAddon.adviseHugePages} did. */
export interface HugePagesResult {
  /** Bytes of the heap advised (its 2 MiB-aligned interior). */
  bytes: number;
  /** Whether all the pages already there were collapsed into huge pages (else `error` says why). */
  collapsed: boolean;
  /** Bytes collapsed into huge pages (absent from addons built before it). */
  collapsedBytes?: number;
  /**
   * Why not all of it was done (not Linux, an older kernel, memory too fragmented for now; how many
   * 2 MiB stretches were not collapsed, and the last error).
   */
  error?: string;
}

/** The malloc arena a thread allocates from: glibc's main one (the brk heap), another, or not glibc. */
export type MallocArena = 'main' | 'secondary' | 'unknown';

/**
 * The addon's functions (native/*.cc). Every array is used in place (zero copy); outputs are
 * allocated by the caller. Dimensions are element counts; offsets are in elements.
 */
export interface NativeAddon {
  setNumThreads(numThreads: number): number;
  getNumThreads(): number;
  blasConfig(): string;
  blasCoreName(): string;
  /** glibc: serve large allocations from the reusable heap rather than fresh mmap'ed pages. */
  tuneMalloc(): boolean;
  /** The malloc arena the calling thread allocates from. Absent from addons built before it. */
  mallocArena?(): MallocArena;
  /**
   * Frees an ArrayBuffer's memory now by detaching it (its views then read as empty). Absent from
   * addons built before it (an older build given as FORGE_NATIVE_ADDON for a before/after).
   */
  detachArrayBuffer?(buffer: ArrayBuffer): void;
  /**
   * Linux: advises transparent huge pages for the malloc heap and, with `collapse`, turns the pages
   * already there into huge ones now. Absent from addons built before it.
   */
  adviseHugePages?(collapse: boolean): HugePagesResult;
  /** C_i = alpha op(A_i) op(B_i) + beta C_i for each (a, b, c) offset triple in `offsets`. */
  gemmBatch(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
    offsets: Int32Array,
  ): void;
  layerNormForward(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    N: number,
    C: number,
    epsilon: number,
  ): void;
  layerNormBackward(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    N: number,
    C: number,
  ): void;
  geluForward(x: Float32Array, y: Float32Array, n: number): void;
  geluBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, n: number): void;
  /** y = dropout(x) over n elements (also its gradient); seed as its two 32-bit words. */
  dropout(x: Float32Array, y: Float32Array, n: number, rate: number, seedLo: number, seedHi: number): void;
  attentionForward(
    qkv: Float32Array,
    y: Float32Array,
    probs: Float32Array,
    B: number,
    T: number,
    C: number,
    H: number,
    dropRate?: number,
    seedLo?: number,
    seedHi?: number,
  ): void;
  attentionBackward(
    dy: Float32Array,
    qkv: Float32Array,
    probs: Float32Array,
    dqkv: Float32Array,
    B: number,
    T: number,
    C: number,
    H: number,
    dropRate?: number,
    seedLo?: number,
    seedHi?: number,
  ): void;
  crossEntropyForward(
    logits: Float32Array,
    labels: Int32Array,
    losses: Float32Array,
    logsumexp: Float32Array,
    N: number,
    V: number,
    ignoreIndex: number,
  ): void;
  crossEntropyBackward(
    dlosses: Float32Array,
    logits: Float32Array,
    labels: Int32Array,
    logsumexp: Float32Array,
    dlogits: Float32Array,
    N: number,
    V: number,
    ignoreIndex: number,
  ): void;
  softmaxRows(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  transpose(
    x: Float32Array | Int32Array,
    y: Float32Array | Int32Array,
    shape: Int32Array,
    perm: Int32Array,
  ): void;
  /** out [numSegments, rowSize] = scatter-add of x rows (out is overwritten). */
  segmentSum(
    x: Float32Array,
    segmentIds: Int32Array,
    out: Float32Array,
    n: number,
    rowSize: number,
    numSegments: number,
  ): void;
  adamw(
    params: Float32Array,
    grads: Float32Array,
    m: Float32Array,
    v: Float32Array,
    offset: number,
    length: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
  sumOfSquares(x: Float32Array, offset: number, length: number): number;
  scale(x: Float32Array, s: number, offset: number, length: number): void;
  /** dst += alpha src over [offset, offset + length); on the calling thread only when `parallel` is false. */
  axpy(
    dst: Float32Array,
    src: Float32Array,
    alpha: number,
    offset: number,
    length: number,
    parallel?: boolean,
  ): void;
  /** x /= divisor over [offset, offset + length), IEEE f32 division, on the calling thread. */
  divide(x: Float32Array, divisor: number, offset: number, length: number): void;
  /** dst = bf16 bits of src (round to nearest even) over [offset, offset + length), calling thread. */
  bf16Encode(src: Float32Array, dst: Uint16Array, offset: number, length: number): void;
  /** dst = f32 of the bf16 bits src (exact) over [offset, offset + length), calling thread. */
  bf16Decode(src: Uint16Array, dst: Float32Array, offset: number, length: number): void;
  /** x = nearest bf16 of x, in place, over [offset, offset + length), calling thread. */
  bf16Round(x: Float32Array, offset: number, length: number): void;
  /** out = full op other (other op full when otherLeft); other[i % period] when repeat = 1, else other[i / repeat]. op: 0 add, 1 sub, 2 mul, 3 div. */
  binary(
    op: number,
    full: Float32Array,
    other: Float32Array,
    out: Float32Array,
    n: number,
    period: number,
    repeat: number,
    otherLeft: boolean,
  ): void;
  /** out[o, i] = sum_r x[o, r, i] for x viewed as [outer, reduce, inner]. */
  reduceSum(x: Float32Array, out: Float32Array, outer: number, reduce: number, inner: number): void;
}

/** Whether the native addon loaded, and if not, why. */
export interface NativeAddonStatus {
  /** True when the addon loaded and the `native` backend can start. */
  loaded: boolean;
  /** The addon file looked for. */
  path: string;
  /** Why it did not load (missing build, missing OpenBLAS, ...), with what to do. */
  error?: string;
  /** Threads used by the native kernels and OpenBLAS (when loaded). */
  numThreads?: number;
  /** OpenBLAS kernel family in use, e.g. "SkylakeX" (when loaded). */
  blasCore?: string;
}

const ADDON_FUNCTIONS: ReadonlyArray<keyof NativeAddon> = [
  'setNumThreads',
  'getNumThreads',
  'blasCoreName',
  'gemmBatch',
  'layerNormForward',
  'layerNormBackward',
  'geluForward',
  'geluBackward',
  'dropout',
  'attentionForward',
  'attentionBackward',
  'crossEntropyForward',
  'crossEntropyBackward',
  'softmaxRows',
  'transpose',
  'segmentSum',
  'adamw',
  'sumOfSquares',
  'scale',
  'axpy',
  'divide',
  'bf16Encode',
  'bf16Decode',
  'bf16Round',
  'binary',
  'reduceSum',
];

const BUILD_HINT = 'apt-get install libopenblas-dev, then npm run build:native';

let loaded: { addon: NativeAddon | null; status: NativeAddonStatus } | undefined;

/**
 * The addon file: FORGE_NATIVE_ADDON when it names a file, otherwise build/Release next to the
 * package root (the same two levels up from src/lib/native under ts-jest and dist/lib/native).
 */
function addonPath(): string {
  const override = process.env.FORGE_NATIVE_ADDON;
  if (override && override !== 'off') return path.resolve(override);
  return path.resolve(__dirname, '..', '..', '..', 'build', 'Release', 'forge_native.node');
}

function load(): { addon: NativeAddon | null; status: NativeAddonStatus } {
  const file = addonPath();
  if (process.env.FORGE_NATIVE_ADDON === 'off') {
    return {
      addon: null,
      status: { loaded: false, path: file, error: 'disabled by FORGE_NATIVE_ADDON=off' },
    };
  }
  if (!fs.existsSync(file)) {
    return {
      addon: null,
      status: { loaded: false, path: file, error: `${file} is not built (${BUILD_HINT})` },
    };
  }
  // OpenBLAS reads OPENBLAS_CORETYPE when it is loaded with the addon, so set it first.
  const coreType = process.env.OPENBLAS_CORETYPE ? undefined : openBlasCoreType();
  if (coreType) process.env.OPENBLAS_CORETYPE = coreType;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(file) as NativeAddon;
    const missing = ADDON_FUNCTIONS.filter((f) => typeof addon[f] !== 'function');
    if (missing.length > 0)
      throw new Error(`stale build, missing ${missing.join(', ')} (npm run build:native)`);
    let threads: number;
    try {
      threads = resolveThreadCount();
    } catch {
      threads = resolveThreadCount({}); // initBackend reports the bad FORGE_NUM_THREADS
    }
    const numThreads = addon.setNumThreads(threads);
    return { addon, status: { loaded: true, path: file, numThreads, blasCore: addon.blasCoreName() } };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    return {
      addon: null,
      status: { loaded: false, path: file, error: `${file} failed to load: ${message} (${BUILD_HINT})` },
    };
  }
}

/** The loaded addon, or null when it is not available (see {@link nativeAddonStatus}). */
export function getNativeAddon(): NativeAddon | null {
  loaded ??= load();
  return loaded.addon;
}

/**
 * Whether the native addon is loaded, or the error that kept it from loading; for diagnostics
 * (`forge info`). Loads it on first call.
 */
export function nativeAddonStatus(): NativeAddonStatus {
  loaded ??= load();
  return { ...loaded.status };
}
