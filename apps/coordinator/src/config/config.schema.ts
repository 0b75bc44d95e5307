/** Environment of the coordinator, validated once at boot (zod): a bad value stops the start with its name. */
import { LOCAL_CLUSTER_SECRET } from '@llm-forge/cluster-protocol';
import {
  assertSecretStaysPrivate,
  type TransportSecurity,
  TransportSecurityError,
  transportSecurityFromEnv,
} from '@llm-forge/proto';
import * as path from 'path';
import { z } from 'zod';
import { type JudgeEndpoint, LOCAL_OLLAMA_JUDGE, parseJudgeAllowList } from './judge-allowlist';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

/** The raw environment variables the coordinator reads. */
export const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  FORGE_HTTP_HOST: z.string().min(1).optional(),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  FORGE_API_TOKEN: z.string().min(16, 'FORGE_API_TOKEN must have at least 16 characters').optional(),
  FORGE_LOCAL_MODE: booleanFlag,
  FORGE_AUTH_DISABLED: booleanFlag,
  FORGE_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+:$/, 'FORGE_REDIS_PREFIX must end with ":" (e.g. "forge:")')
    .default('forge:'),
  FORGE_RUNS_DIR: z.string().min(1).default('runs'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  FORGE_GRPC_HOST: z.string().min(1).optional(),
  FORGE_GRPC_PORT: z.coerce.number().int().min(0).max(65535).default(50051),
  FORGE_CLUSTER_SECRET: z.string().min(8, 'FORGE_CLUSTER_SECRET must have at least 8 characters').optional(),
  FORGE_HEARTBEAT_MS: z.coerce.number().int().min(50).default(1000),
  FORGE_WORKER_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  FORGE_WORKER_RETENTION_MS: z.coerce.number().int().min(1000).default(3_600_000),
  FORGE_STEP_TIMEOUT_MS: z.coerce.number().int().min(100).default(600_000),
  FORGE_MAX_STEP_RETRIES: z.coerce.number().int().min(0).default(5),
  FORGE_MAX_JOB_RETRIES: z.coerce.number().int().min(0).default(50),
  FORGE_DASHBOARD_DIR: z.string().min(1).optional(),
  FORGE_JUDGE_ALLOWLIST: z.string().optional(),
  FORGE_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  FORGE_MAX_QUEUED_JOBS: z.coerce.number().int().min(1).default(20),
  FORGE_OUTPUT_ROOTS: z.string().optional(),
  FORGE_DATA_ROOTS: z.string().optional(),
});

/** Comma-separated absolute directories, or the problem (a relative entry) as a string. */
function parseDirList(value: string | undefined): string[] | string {
  const dirs = (value ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
  const relative = dirs.find((d) => !path.isAbsolute(d));
  if (relative !== undefined) return `${JSON.stringify(relative)} is not an absolute path`;
  return dirs.map((d) => path.resolve(d));
}

/** The coordinator's configuration, resolved from the environment. */
export interface CoordinatorConfig {
  /** HTTP port (0: any free port). @defaultValue 3000 */
  port: number;
  /**
   * Address the HTTP API binds to. Local mode's API has auth off or a token on one machine, so it
   * listens on loopback only. @defaultValue `0.0.0.0` (local mode: `127.0.0.1`)
   */
  httpHost: string;
  /** Redis holding run state and the BullMQ queues. @defaultValue `redis://127.0.0.1:6379` */
  redisUrl: string;
  /** Bearer token required on every route but /health; undefined only when auth is disabled. */
  apiToken: string | undefined;
  /** Local mode: a single-machine cluster; the only mode where auth may be turned off. */
  localMode: boolean;
  /** Whether the bearer-token guard is on. @defaultValue true */
  authEnabled: boolean;
  /** Prefix of every Redis key (run state and BullMQ queues). @defaultValue `forge:` */
  redisPrefix: string;
  /** Folder under which a run without an explicit `out` writes its checkpoints. @defaultValue `runs` */
  runsDir: string;
  /** Pino log level. @defaultValue `info` */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Host the workers' gRPC control plane binds to. @defaultValue `0.0.0.0` (`127.0.0.1` in local mode) */
  grpcHost: string;
  /** Port of the workers' gRPC control plane (0: any free port). @defaultValue 50051 */
  grpcPort: number;
  /** Shared secret of the control plane and the workers' ring; required outside local mode. */
  clusterSecret: string;
  /**
   * TLS of the control plane (FORGE_TLS_CA, FORGE_TLS_CERT, FORGE_TLS_KEY), or plaintext, which
   * is refused on a non-loopback FORGE_GRPC_HOST unless FORGE_ALLOW_INSECURE_GRPC=true.
   */
  grpcTransport: TransportSecurity;
  /** Heartbeat interval asked of workers, in milliseconds. @defaultValue 1000 */
  heartbeatMs: number;
  /** A worker silent for this long is lost; its step is re-run without it. @defaultValue 5000 */
  workerTimeoutMs: number;
  /**
   * A lost worker's record (shown as `lost` in `GET /workers` and `forge_workers`) is removed once
   * the worker has been silent this long: long enough for an operator to see what went, short enough
   * that workers of long-gone processes do not pile up. Must be at least `workerTimeoutMs`.
   * @defaultValue 3600000 (1 hour)
   */
  workerRetentionMs: number;
  /** A step attempt running longer than this is aborted and retried. @defaultValue 600000 */
  stepTimeoutMs: number;
  /** Failed attempts of one step before the run fails. @defaultValue 5 */
  maxStepRetries: number;
  /**
   * Failed attempts over a whole job before it fails: a step that fails again after every rewind
   * (each rewind's steps succeed, so its step count starts over) ends here. @defaultValue 50
   */
  maxJobRetries: number;
  /** Built dashboard (static files) served at `/`; undefined: apps/dashboard/dist when it exists. */
  dashboardDir?: string;
  /**
   * Judge endpoints (scheme, host, port) a finetune's `judge.url` may name; any other is refused
   * with 400. @defaultValue none (local mode: Ollama's `http://localhost:11434` only)
   */
  judgeAllowList: JudgeEndpoint[];
  /**
   * Largest JSON request body accepted, in bytes; a larger one gets 413. A run or finetune spec is
   * a few hundred bytes. @defaultValue 1048576 (1 MiB)
   */
  maxBodyBytes: number;
  /**
   * Runs and finetune jobs that may wait in `queued` at once (per cluster: this coordinator's
   * Redis prefix); one more is refused with 429 until one starts or is cancelled. @defaultValue 20
   */
  maxQueuedJobs: number;
  /**
   * Directories besides `runsDir` a run's `out` may lie in (absolute). @defaultValue none: outputs
   * go only under the runs directory
   */
  outputRoots: string[];
  /**
   * Directories inputs (texts, manifests, init models, datasets, base checkpoints) may come from
   * outside local mode, besides the runs directory and `outputRoots` (absolute). @defaultValue none
   */
  dataRoots: string[];
}

/** Thrown when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Validates `env` and resolves the configuration; throws {@link ConfigError} naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CoordinatorConfig {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.FORGE_AUTH_DISABLED && !e.FORGE_LOCAL_MODE) {
    throw new ConfigError('FORGE_AUTH_DISABLED=true is only allowed with FORGE_LOCAL_MODE=true');
  }
  if (e.FORGE_WORKER_RETENTION_MS < e.FORGE_WORKER_TIMEOUT_MS) {
    throw new ConfigError(
      `FORGE_WORKER_RETENTION_MS (${e.FORGE_WORKER_RETENTION_MS}) must be at least FORGE_WORKER_TIMEOUT_MS (${e.FORGE_WORKER_TIMEOUT_MS}): a shorter retention would remove workers that are only late`,
    );
  }
  // Empty unless the operator names endpoints: a judge is a request the workers send on a user's
  // behalf. Local mode's one default is the book's Ollama on the user's own machine.
  const judgeAllowList = parseJudgeAllowList(
    e.FORGE_JUDGE_ALLOWLIST ?? (e.FORGE_LOCAL_MODE ? LOCAL_OLLAMA_JUDGE : ''),
  );
  if (typeof judgeAllowList === 'string') {
    throw new ConfigError(`invalid environment: FORGE_JUDGE_ALLOWLIST: ${judgeAllowList}`);
  }
  const outputRoots = parseDirList(e.FORGE_OUTPUT_ROOTS);
  if (typeof outputRoots === 'string') {
    throw new ConfigError(
      `invalid environment: FORGE_OUTPUT_ROOTS: ${outputRoots} (give absolute directories, comma-separated)`,
    );
  }
  const dataRoots = parseDirList(e.FORGE_DATA_ROOTS);
  if (typeof dataRoots === 'string') {
    throw new ConfigError(
      `invalid environment: FORGE_DATA_ROOTS: ${dataRoots} (give absolute directories, comma-separated)`,
    );
  }
  const authEnabled = !e.FORGE_AUTH_DISABLED;
  if (authEnabled && !e.FORGE_API_TOKEN) {
    throw new ConfigError(
      'FORGE_API_TOKEN is required (or set FORGE_LOCAL_MODE=true and FORGE_AUTH_DISABLED=true to run without auth)',
    );
  }
  if (!e.FORGE_LOCAL_MODE && !e.FORGE_CLUSTER_SECRET) {
    throw new ConfigError(
      'FORGE_CLUSTER_SECRET is required outside local mode (the shared secret of the coordinator and every worker)',
    );
  }
  const grpcHost = e.FORGE_GRPC_HOST ?? (e.FORGE_LOCAL_MODE ? '127.0.0.1' : '0.0.0.0');
  let grpcTransport: TransportSecurity;
  try {
    grpcTransport = transportSecurityFromEnv(env);
    assertSecretStaysPrivate(
      grpcTransport,
      `${grpcHost}:${e.FORGE_GRPC_PORT}`,
      "FORGE_GRPC_HOST (the control plane's address, where workers send the cluster secret)",
    );
  } catch (error) {
    if (error instanceof TransportSecurityError) throw new ConfigError(error.message);
    throw error;
  }
  return {
    port: e.PORT,
    httpHost: e.FORGE_HTTP_HOST ?? (e.FORGE_LOCAL_MODE ? '127.0.0.1' : '0.0.0.0'),
    redisUrl: e.REDIS_URL,
    apiToken: authEnabled ? e.FORGE_API_TOKEN : undefined,
    localMode: e.FORGE_LOCAL_MODE,
    authEnabled,
    redisPrefix: e.FORGE_REDIS_PREFIX,
    runsDir: e.FORGE_RUNS_DIR,
    logLevel: e.LOG_LEVEL,
    grpcHost,
    grpcPort: e.FORGE_GRPC_PORT,
    clusterSecret: e.FORGE_CLUSTER_SECRET ?? LOCAL_CLUSTER_SECRET,
    grpcTransport,
    heartbeatMs: e.FORGE_HEARTBEAT_MS,
    workerTimeoutMs: e.FORGE_WORKER_TIMEOUT_MS,
    workerRetentionMs: e.FORGE_WORKER_RETENTION_MS,
    stepTimeoutMs: e.FORGE_STEP_TIMEOUT_MS,
    maxStepRetries: e.FORGE_MAX_STEP_RETRIES,
    maxJobRetries: e.FORGE_MAX_JOB_RETRIES,
    dashboardDir: e.FORGE_DASHBOARD_DIR,
    judgeAllowList,
    maxBodyBytes: e.FORGE_MAX_BODY_BYTES,
    maxQueuedJobs: e.FORGE_MAX_QUEUED_JOBS,
    outputRoots,
    dataRoots,
  };
}
