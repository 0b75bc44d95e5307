import { bf16ToF32, f32ToBf16, roundToBf16InPlace } from '../codec/bf16';
import { type TransportSecurity, transportSecurityFromEnv } from '@llm-forge/proto';
import { CollectiveConfigError } from '../errors/collective-config-error';

/** Element encoding on the wire: full f32, or bf16 (half the bytes, accumulated in f32). */
export type WireDType = 'f32' | 'bf16';

/**
 * Adds `source` into `target` element-wise, in place (equal lengths): the reduction of a ring
 * all-reduce. IEEE f32 addition gives the same bits in any implementation, so ranks may differ.
 */
export type SumInto = (target: Float32Array, source: Float32Array) => void;

/** The default {@link SumInto}: a JavaScript loop (2–4 ns per element on one core). */
export const sumIntoJs: SumInto = (target, source) => {
  for (let i = 0; i < target.length; i++) target[i] += source[i];
};

/**
 * Divides every element of `values` by `divisor`, in place: the averaging of a ring all-reduce.
 * IEEE f32 division gives the same bits in any implementation (no multiplying by a reciprocal).
 */
export type DivideInPlace = (values: Float32Array, divisor: number) => void;

/** The default {@link DivideInPlace}: a JavaScript loop (~1.3 ns per element). */
export const divideInPlaceJs: DivideInPlace = (values, divisor) => {
  for (let i = 0; i < values.length; i++) values[i] /= divisor;
};

/**
 * Writes the bf16 encoding of `source` into `target` (equal lengths): round to nearest even, a NaN
 * stays a quiet NaN. Ranks may use different implementations only if they give the same bits.
 */
export type Bf16Encode = (source: Float32Array, target: Uint16Array) => void;

/** Widens the bf16 values `source` into `target` (equal lengths); exact. */
export type Bf16Decode = (source: Uint16Array, target: Float32Array) => void;

/** Rounds every element of `values` to its nearest bf16, in place (as {@link Bf16Encode} rounds). */
export type Bf16Round = (values: Float32Array) => void;

/** Options of a {@link RingAllReduce}; every rank of a ring must use the same values. */
export interface RingAllReduceOptions {
  /** This worker's rank, 0 .. worldSize - 1. */
  rank: number;
  /** Number of workers in the ring. */
  worldSize: number;
  /** Shared secret every call carries in metadata; peers with another secret are refused. */
  secret: string;
  /**
   * Id of the training job (a run, or one attempt of a finetune) every chunk carries; streams of
   * another job are refused.
   * @defaultValue `'default'`
   */
  jobId?: string;
  /**
   * Host the collective server binds to.
   * @defaultValue `'127.0.0.1'`
   */
  host?: string;
  /**
   * Port the collective server binds to; 0 picks a free one (see {@link RingAllReduce.address}).
   * @defaultValue `0`
   */
  port?: number;
  /**
   * Gradients are fused into buckets of this many f32 bytes; buckets pipeline through the ring.
   * @defaultValue `16 MiB`
   */
  bucketBytes?: number;
  /**
   * Wire bytes per streamed chunk (one gRPC message). Fewer, larger messages cost less CPU per byte
   * in grpc-js: 4 MiB measured 20% less CPU and 15% more bus bandwidth than 1 MiB (4 ranks, 100 MB;
   * docs/benchmarks.md). Every rank of a ring must use the same value.
   * @defaultValue `4 MiB`
   */
  chunkBytes?: number;
  /**
   * Default timeout of one all-reduce (and of connect), in milliseconds.
   * @defaultValue `30000`
   */
  timeoutMs?: number;
  /**
   * Default wire encoding.
   * @defaultValue `'f32'`
   */
  wireDType?: WireDType;
  /**
   * The reduction kernel. The JavaScript default is a large share of a rank's CPU time; a worker
   * with the native backend passes its vectorised one (`sumIntoSerial` of
   * `@llm-forge/tfjs-backend-native`).
   * @defaultValue {@link sumIntoJs}
   */
  sumInto?: SumInto;
  /**
   * The averaging kernel (`average: true`), run by the rank that finishes a segment over that
   * segment; a worker with the native backend passes its vectorised one (`divideSerial`).
   * @defaultValue {@link divideInPlaceJs}
   */
  divideInPlace?: DivideInPlace;
  /**
   * The bf16 wire codec (`wireDType: 'bf16'`): encoding of every chunk sent, decoding of every
   * chunk received, and the rounding of each finished segment. The JavaScript defaults cost
   * 1.5–2 ns per element, more than the bytes they save on a fast link; a worker with the native
   * backend passes its vectorised ones (`bf16EncodeSerial`, `bf16DecodeSerial`, `bf16RoundSerial`
   * of `@llm-forge/tfjs-backend-native`: the same bits, about a tenth of the time).
   * @defaultValue {@link f32ToBf16}, {@link bf16ToF32}, {@link roundToBf16InPlace}
   */
  bf16Encode?: Bf16Encode;
  /** See {@link RingAllReduceOptions.bf16Encode}. @defaultValue {@link bf16ToF32} */
  bf16Decode?: Bf16Decode;
  /** See {@link RingAllReduceOptions.bf16Encode}. @defaultValue {@link roundToBf16InPlace} */
  bf16Round?: Bf16Round;
  /**
   * Security of the ring's server and of the channel to the right-hand neighbour: mutual TLS, or
   * plaintext, which is refused for a bind or peer address beyond loopback unless `allowInsecure`
   * (every stream carries the cluster secret). Read from the environment by default, so a ring on
   * its own thread resolves it there.
   * @defaultValue `transportSecurityFromEnv()` (FORGE_TLS_CA, FORGE_TLS_CERT, FORGE_TLS_KEY,
   * FORGE_TLS_SERVER_NAME, FORGE_ALLOW_INSECURE_GRPC)
   */
  transport?: TransportSecurity;
}

/** Per-call options of {@link RingAllReduce.allReduce}. */
export interface AllReduceOptions {
  /** Optimizer step; operations of one ring must use increasing (step, attempt) pairs. */
  step: number;
  /**
   * Attempt of the step; a retry after a failure uses a larger one so chunks of the aborted
   * attempt are discarded.
   * @defaultValue `0`
   */
  attempt?: number;
  /**
   * Divide the sum by worldSize (gradient averaging) instead of returning the sum.
   * @defaultValue `false`
   */
  average?: boolean;
  /** Wire encoding of this call. @defaultValue the ring's `wireDType` */
  wireDType?: WireDType;
  /** Timeout of this call in milliseconds. @defaultValue the ring's `timeoutMs` */
  timeoutMs?: number;
}

/** {@link RingAllReduceOptions} with every default filled in. */
export type ResolvedRingOptions = Required<RingAllReduceOptions>;

/** Defaults of the optional {@link RingAllReduceOptions} fields. */
export const RING_DEFAULTS = {
  jobId: 'default',
  host: '127.0.0.1',
  port: 0,
  bucketBytes: 16 * 2 ** 20,
  chunkBytes: 4 * 2 ** 20,
  timeoutMs: 30_000,
  wireDType: 'f32' as WireDType,
  sumInto: sumIntoJs,
  divideInPlace: divideInPlaceJs,
  bf16Encode: f32ToBf16,
  bf16Decode: bf16ToF32,
  bf16Round: roundToBf16InPlace,
} as const;

function requireInteger(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CollectiveConfigError(
      field,
      `must be an integer in [${min}, ${max}], got ${value}`,
      `pass an integer between ${min} and ${max}`,
    );
  }
}

function requireFunction(field: string, value: unknown, signature: string): void {
  if (typeof value !== 'function') {
    throw new CollectiveConfigError(field, 'must be a function', `pass ${signature} or leave it out`);
  }
}

function requireDType(field: string, value: string): void {
  if (value !== 'f32' && value !== 'bf16') {
    throw new CollectiveConfigError(
      field,
      `must be 'f32' or 'bf16', got '${value}'`,
      "use 'f32' (exact) or 'bf16' (half the bytes)",
    );
  }
}

/** Merges defaults into `options` and validates every field; throws {@link CollectiveConfigError}. */
export function resolveRingOptions(options: RingAllReduceOptions): ResolvedRingOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const resolved = { ...RING_DEFAULTS, ...given } as ResolvedRingOptions; // undefined means the default
  resolved.transport = options.transport ?? transportSecurityFromEnv();
  requireInteger('worldSize', resolved.worldSize, 1, 4096);
  requireInteger('rank', resolved.rank, 0, resolved.worldSize - 1);
  requireInteger('port', resolved.port, 0, 65535);
  requireInteger('bucketBytes', resolved.bucketBytes, 4);
  requireInteger('chunkBytes', resolved.chunkBytes, 4, 64 * 2 ** 20);
  requireInteger('timeoutMs', resolved.timeoutMs, 1);
  requireDType('wireDType', resolved.wireDType);
  requireFunction('sumInto', resolved.sumInto, '(target, source) => void');
  requireFunction('divideInPlace', resolved.divideInPlace, '(values, divisor) => void');
  requireFunction('bf16Encode', resolved.bf16Encode, '(source: Float32Array, target: Uint16Array) => void');
  requireFunction('bf16Decode', resolved.bf16Decode, '(source: Uint16Array, target: Float32Array) => void');
  requireFunction('bf16Round', resolved.bf16Round, '(values: Float32Array) => void');
  if (typeof resolved.secret !== 'string' || resolved.secret.length === 0) {
    throw new CollectiveConfigError(
      'secret',
      'must be a non-empty string',
      'give every worker of the run the same secret',
    );
  }
  return resolved;
}

/** Validates per-call options against the ring's defaults. */
export function resolveAllReduceOptions(
  options: AllReduceOptions,
  ring: ResolvedRingOptions,
): Required<AllReduceOptions> {
  const resolved = {
    attempt: 0,
    average: false,
    wireDType: ring.wireDType,
    timeoutMs: ring.timeoutMs,
    ...options,
  };
  requireInteger('step', resolved.step, 0);
  requireInteger('attempt', resolved.attempt, 0, 2 ** 32 - 1);
  requireInteger('timeoutMs', resolved.timeoutMs, 1);
  requireDType('wireDType', resolved.wireDType);
  return resolved;
}
