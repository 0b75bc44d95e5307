/** The worker's environment, validated at boot: a bad value stops the start and names the variable. */
import * as os from 'os';
import { LOCAL_CLUSTER_SECRET, WORKER_ID_PATTERN } from '@llm-forge/cluster-protocol';
import { assertSecretStaysPrivate, TransportSecurityError, transportSecurityFromEnv } from '@llm-forge/proto';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const port = z.coerce.number().int().min(0).max(65535);

const envSchema = z.object({
  FORGE_LOCAL_MODE: bool.default('false'),
  FORGE_WORKER_ID: z.string().regex(WORKER_ID_PATTERN, "use letters, digits, '.', '_' or '-'").optional(),
  FORGE_COORDINATOR_URL: z.string().min(1).default('127.0.0.1:50051'),
  FORGE_CLUSTER_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  // The coordinator's rule: a prefix the two disagree on would put this worker's queue where no
  // coordinator looks.
  FORGE_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+:$/, 'must end with ":" (letters, digits, "_.:-"; e.g. "forge:")')
    .default('forge:'),
  FORGE_COLLECTIVE_HOST: z.string().min(1).optional(),
  FORGE_ADVERTISE_HOST: z.string().min(1).optional(),
  FORGE_COLLECTIVE_PORT: port.optional(),
  FORGE_COLLECTIVE_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  FORGE_METRICS_PORT: port.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The worker's settings. */
export interface WorkerConfig {
  localMode: boolean;
  workerId: string;
  coordinatorUrl: string;
  secret: string;
  redisUrl: string;
  /** Prefix of the Redis keys of this worker's cluster (the coordinator's FORGE_REDIS_PREFIX). */
  redisPrefix: string;
  bindHost: string;
  advertiseHost: string;
  collectivePort: number;
  collectiveTimeoutMs: number;
  /** Port of the Prometheus /metrics endpoint (0: any free port; undefined: off). */
  metricsPort?: number;
  logLevel: string;
}

/** Reads the worker's settings from `env`; throws an Error naming every bad variable. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid worker environment: ${why}`);
  }
  const e = parsed.data;
  const local = e.FORGE_LOCAL_MODE;
  if (!local && e.FORGE_CLUSTER_SECRET === undefined) {
    throw new Error(
      'invalid worker environment: FORGE_CLUSTER_SECRET is required outside local mode (the shared secret of the coordinator and every worker)',
    );
  }
  const bindHost = e.FORGE_COLLECTIVE_HOST ?? (local ? '127.0.0.1' : '0.0.0.0');
  const collectivePort = e.FORGE_COLLECTIVE_PORT ?? (local ? 0 : 50052);
  // Both channels carry the cluster secret: fail at boot, naming the variable, rather than when the
  // client or the ring is first built.
  try {
    const security = transportSecurityFromEnv(env);
    assertSecretStaysPrivate(security, e.FORGE_COORDINATOR_URL, 'FORGE_COORDINATOR_URL');
    assertSecretStaysPrivate(
      security,
      `${bindHost}:${collectivePort}`,
      "FORGE_COLLECTIVE_HOST (the ring's address, where peers send the cluster secret)",
    );
  } catch (error) {
    if (error instanceof TransportSecurityError) {
      throw new Error(`invalid worker environment: ${error.message}`);
    }
    throw error;
  }
  const defaultId = `${os.hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 128);
  return {
    localMode: local,
    workerId: e.FORGE_WORKER_ID ?? defaultId,
    coordinatorUrl: e.FORGE_COORDINATOR_URL,
    secret: e.FORGE_CLUSTER_SECRET ?? LOCAL_CLUSTER_SECRET,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.FORGE_REDIS_PREFIX,
    bindHost,
    advertiseHost: e.FORGE_ADVERTISE_HOST ?? (local ? '127.0.0.1' : os.hostname()),
    collectivePort,
    collectiveTimeoutMs: e.FORGE_COLLECTIVE_TIMEOUT_MS,
    metricsPort: e.FORGE_METRICS_PORT,
    logLevel: e.LOG_LEVEL,
  };
}
