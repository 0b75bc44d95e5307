/**
 * A single-machine cluster: the coordinator and N workers as background processes of this machine
 * (local mode: loopback only, a fresh API token and cluster secret), against the Redis at REDIS_URL
 * under the cluster's own key prefix.
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { ForgeError } from '@llm-forge/gpt';
import { oneArenaEnv } from '@llm-forge/tfjs-backend-native';
import { CoordinatorApi } from './api-client';
import { forgeHome, isRunning, type ClusterProcess, type ClusterState } from './cluster-state';

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  workers: number;
  /** HTTP port of the coordinator (0: a free one). */
  port: number;
  /** gRPC port of the control plane (0: a free one). */
  grpcPort: number;
  redisUrl: string;
  redisPrefix: string;
  runsDir: string;
  /** How long to wait for the coordinator and the workers. */
  timeoutMs: number;
  /** Extra environment for every process (e.g. FORGE_BACKEND). */
  env?: NodeJS.ProcessEnv;
}

/** Entry point of an app's built main. */
function appMain(pkg: string): string {
  const main = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'dist', 'main.js');
  if (!fs.existsSync(main)) {
    throw new ForgeError(`${main} is missing`, 'build the project first: npm run build');
  }
  return main;
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function launch(id: string, script: string, env: NodeJS.ProcessEnv, logDir: string): ClusterProcess {
  const log = path.join(logDir, `${id}.log`);
  const fd = fs.openSync(log, 'a');
  const child = spawn(process.execPath, [script], { env, detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new ForgeError(`could not start ${id} (${script})`);
  return { id, pid: child.pid, log };
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  logs: string[],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new ForgeError(`timed out after ${timeoutMs} ms waiting for ${what}`, `see ${logs.join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Starts the coordinator and the workers, all on `options.redisPrefix`; resolves once every worker has
 * registered.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<ClusterState> {
  const logDir = path.join(forgeHome(), 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const port = options.port || (await freePort());
  const grpcPort = options.grpcPort || (await freePort());
  const token = randomBytes(24).toString('hex');
  const secret = randomBytes(24).toString('hex');
  const runsDir = path.resolve(options.runsDir);
  const common = clusterEnv(options.redisUrl, options.redisPrefix, secret, options.env);
  const workerMain = appMain('@llm-forge/worker'); // before anything starts: a missing build stops nothing
  const coordinator = await launchCoordinator(
    common,
    { port, grpcPort, token, runsDir },
    logDir,
    options.timeoutMs,
  );
  const stamp = Date.now().toString(36);
  const workers = Array.from({ length: options.workers }, (_, i) =>
    launch(
      `worker-${i}`,
      workerMain,
      // One malloc arena from the start: the compute thread's tensors then share the tuned heap.
      oneArenaEnv({
        ...common,
        FORGE_WORKER_ID: `local-${stamp}-${i}`,
        FORGE_COORDINATOR_URL: `127.0.0.1:${grpcPort}`,
      }),
      logDir,
    ),
  );
  const ids = workers.map((_, i) => `local-${stamp}-${i}`);
  workers.forEach((w, i) => (w.id = ids[i]));
  const api = new CoordinatorApi(`http://127.0.0.1:${port}`, token);
  try {
    await waitUntil(
      `${options.workers} workers to register`,
      async () => {
        const dead = workers.find((w) => !isRunning(w.pid));
        if (dead) throw new ForgeError(`worker ${dead.id} exited while starting`, `see ${dead.log}`);
        const alive = (await api.workers()).filter((w) => ids.includes(w.id) && w.state !== 'lost');
        return alive.length === workers.length;
      },
      options.timeoutMs,
      workers.map((w) => w.log),
    );
  } catch (error) {
    stopAll([...workers, coordinator]);
    throw error;
  }
  return {
    apiUrl: api.baseUrl,
    dashboardUrl: `${api.baseUrl}/`,
    token,
    secret,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    redisUrl: options.redisUrl,
    redisPrefix: options.redisPrefix,
    runsDir,
    coordinator,
    workers,
    startedAt: new Date().toISOString(),
  };
}

/** The environment every process of a cluster shares: its Redis, its key prefix, local mode, its secret. */
function clusterEnv(
  redisUrl: string,
  redisPrefix: string,
  secret: string,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...extra,
    REDIS_URL: redisUrl,
    FORGE_REDIS_PREFIX: redisPrefix,
    FORGE_LOCAL_MODE: 'true',
    FORGE_CLUSTER_SECRET: secret,
    // One machine: every channel stays on loopback in plaintext, whatever TLS settings or hosts
    // this shell carries for a real cluster.
    FORGE_HTTP_HOST: '127.0.0.1',
    FORGE_GRPC_HOST: '127.0.0.1',
    FORGE_COLLECTIVE_HOST: '127.0.0.1',
    FORGE_ADVERTISE_HOST: '127.0.0.1',
    FORGE_TLS_CA: '',
    FORGE_TLS_CERT: '',
    FORGE_TLS_KEY: '',
    FORGE_ALLOW_INSECURE_GRPC: '',
  };
}

function stopAll(procs: ClusterProcess[]): void {
  for (const p of procs) if (isRunning(p.pid)) process.kill(p.pid, 'SIGTERM');
}

interface CoordinatorEnv {
  port: number;
  grpcPort: number;
  token: string;
  runsDir: string;
}

/** Starts the coordinator and waits until it answers /health. */
async function launchCoordinator(
  common: NodeJS.ProcessEnv,
  env: CoordinatorEnv,
  logDir: string,
  timeoutMs: number,
): Promise<ClusterProcess> {
  const coordinator = launch(
    'coordinator',
    appMain('@llm-forge/coordinator'),
    {
      ...common,
      PORT: String(env.port),
      FORGE_GRPC_PORT: String(env.grpcPort),
      FORGE_API_TOKEN: env.token,
      FORGE_RUNS_DIR: env.runsDir,
    },
    logDir,
  );
  const api = new CoordinatorApi(`http://127.0.0.1:${env.port}`, env.token);
  try {
    await waitUntil(
      'the coordinator',
      async () => {
        if (!isRunning(coordinator.pid)) {
          throw new ForgeError('the coordinator exited while starting', `see ${coordinator.log}`);
        }
        return api.healthy();
      },
      timeoutMs,
      [coordinator.log],
    );
  } catch (error) {
    stopAll([coordinator]);
    throw error;
  }
  return coordinator;
}

/**
 * Starts the coordinator of a cluster whose coordinator died (crash, kill, reboot of the process)
 * with the same ports, token, secret and Redis prefix; the workers re-register and runs continue
 * from Redis.
 */
export async function restartCoordinator(state: ClusterState, timeoutMs: number): Promise<ClusterState> {
  const logDir = path.join(forgeHome(), 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const common = clusterEnv(state.redisUrl, state.redisPrefix, state.secret);
  const coordinator = await launchCoordinator(
    common,
    {
      port: Number(new URL(state.apiUrl).port),
      grpcPort: Number(state.grpcAddress.split(':').pop()),
      token: state.token,
      runsDir: state.runsDir,
    },
    logDir,
    timeoutMs,
  );
  return { ...state, coordinator };
}

/**
 * Stops every process of the cluster: the workers first (each finishes its job and tells the
 * coordinator it leaves), then the coordinator; each group SIGTERM, SIGKILL at the end for any still
 * running after `graceMs`.
 */
export async function stopLocalCluster(state: ClusterState, graceMs = 10_000): Promise<void> {
  for (const group of [state.workers, [state.coordinator]]) {
    const deadline = Date.now() + graceMs;
    for (const p of group) if (isRunning(p.pid)) process.kill(p.pid, 'SIGTERM');
    while (group.some((p) => isRunning(p.pid)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const procs = [...state.workers, state.coordinator];
  for (const p of procs) if (isRunning(p.pid)) process.kill(p.pid, 'SIGKILL');
}
