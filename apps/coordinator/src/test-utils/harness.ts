/** E2E helpers: an app per test on its own Redis key prefix, deleted afterwards. */
import { randomBytes } from 'crypto';
import * as os from 'os';
import type { Server } from 'http';
import type { App } from 'supertest/types';
import IORedis from 'ioredis';
import { createApp, type CoordinatorApp } from '../bootstrap';
import type { CoordinatorConfig } from '../config/config.schema';
import { assertRedisReachable } from '../redis/redis.service';

/** Redis of the e2e tests. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Cluster secret of the e2e apps' control plane. */
export const TEST_SECRET = 'test-cluster-secret';
/** Token the e2e apps require. */
export const TEST_TOKEN = 'test-token-0123456789abcdef';

/** Whether Redis answers; logs a clear skip message when it does not. */
export async function redisAvailable(): Promise<boolean> {
  try {
    await assertRedisReachable(REDIS_URL, 1500);
    return true;
  } catch (err) {
    console.warn(`SKIPPING coordinator e2e tests: ${(err as Error).message}`);
    return false;
  }
}

/** A fresh key prefix, e.g. `forge-test-1a2b3c4d:`. */
export function testPrefix(): string {
  return `forge-test-${randomBytes(4).toString('hex')}:`;
}

/** Test configuration: auth on, silent logs, the given prefix. */
export function testConfig(prefix: string, overrides: Partial<CoordinatorConfig> = {}): CoordinatorConfig {
  return {
    port: 0,
    httpHost: '127.0.0.1',
    redisUrl: REDIS_URL,
    apiToken: TEST_TOKEN,
    localMode: false,
    authEnabled: true,
    redisPrefix: prefix,
    runsDir: 'runs',
    logLevel: 'silent',
    grpcHost: '127.0.0.1',
    grpcPort: 0,
    clusterSecret: TEST_SECRET,
    grpcTransport: { allowInsecure: false },
    heartbeatMs: 200,
    workerTimeoutMs: 2000,
    workerRetentionMs: 3_600_000,
    stepTimeoutMs: 60_000,
    maxStepRetries: 5,
    maxJobRetries: 50,
    judgeAllowList: [],
    maxBodyBytes: 1024 * 1024,
    maxQueuedJobs: 1000,
    // The specs' files and outputs live in the OS temp directory.
    outputRoots: [os.tmpdir()],
    dataRoots: [os.tmpdir()],
    ...overrides,
  };
}

/** Builds and initialises an app (supertest drives its HTTP server without listening on a port). */
export async function startApp(config: CoordinatorConfig): Promise<CoordinatorApp> {
  const built = await createApp(config);
  await built.app.init();
  return built;
}

/** Deletes every key under `prefix` (run state and BullMQ queues alike). */
export async function deletePrefix(prefix: string): Promise<number> {
  const redis = new IORedis(REDIS_URL);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
  return deleted;
}

/** The app of the running test: its HTTP server and Redis prefix (`up` false when Redis is absent). */
export interface TestApp {
  up: boolean;
  prefix: string;
  server: App;
  /** The running app (undefined between tests). */
  built?: CoordinatorApp;
}

/**
 * Registers Jest hooks that start a fresh app on its own key prefix before each test and close it
 * and delete its keys after; returns the live state for the tests to read.
 */
export function useTestApp(overrides: Partial<CoordinatorConfig> = {}): TestApp {
  const state: TestApp = { up: false, prefix: '', server: undefined as unknown as App };
  beforeAll(async () => {
    state.up = await redisAvailable();
  });
  beforeEach(async () => {
    if (!state.up) return;
    state.prefix = testPrefix();
    state.built = await startApp(testConfig(state.prefix, overrides));
    state.server = state.built.app.getHttpServer() as App;
  });
  afterEach(async () => {
    if (!state.up || !state.built) return;
    await stopApp(state.built, state.prefix);
    state.built = undefined;
  });
  return state;
}

/** Apps a test starts itself, each with a config of its own. */
export interface TestAppFactory {
  /** Whether Redis answers (the e2e tests pass vacuously when it does not). */
  readonly up: boolean;
  /** Starts an app on a fresh key prefix with `testConfig`'s settings and `overrides`; returns its server. */
  start(overrides?: Partial<CoordinatorConfig>): Promise<App>;
}

/**
 * Registers Jest hooks for tests that start their apps themselves (several per test, or a config per
 * test): every app started during a test is closed and its keys deleted after it.
 */
export function useTestAppFactory(): TestAppFactory {
  const started: Array<{ built: CoordinatorApp; prefix: string }> = [];
  const factory = {
    up: false,
    async start(overrides: Partial<CoordinatorConfig> = {}): Promise<App> {
      const prefix = testPrefix();
      const built = await startApp(testConfig(prefix, overrides));
      started.push({ built, prefix });
      return built.app.getHttpServer() as App;
    },
  };
  beforeAll(async () => {
    factory.up = await redisAvailable();
  });
  afterEach(async () => {
    for (const { built, prefix } of started.splice(0)) await stopApp(built, prefix);
  });
  return factory;
}

/** Closes an app and deletes its keys. */
async function stopApp(built: CoordinatorApp, prefix: string): Promise<void> {
  // A stream still open (GET /events) would keep the server, and so the close, waiting forever.
  (built.app.getHttpServer() as Server).closeAllConnections();
  await built.app.close();
  await deletePrefix(prefix);
}
