/** `forge cluster up|down|status`: a single-machine cluster (coordinator + workers) in the background. */
import { Command } from 'commander';
import { ForgeError } from '@llm-forge/gpt';
import { CoordinatorApi, type ApiWorker } from '../cluster/api-client';
import {
  clusterRedisPrefix,
  isRunning,
  readClusterState,
  removeClusterState,
  writeClusterState,
  type ClusterState,
} from '../cluster/cluster-state';
import { loginUrl } from '../cluster/login-link';
import { restartCoordinator, startLocalCluster, stopLocalCluster } from '../cluster/local-cluster';
import { assertRedis } from '../cluster/redis-check';
import { nonNegativeInt, positiveInt } from '../options';
import { info, printJson } from '../output';
import { submitDefaultRun } from './submit';

interface UpFlags {
  workers: number;
  port: number;
  grpcPort: number;
  runsDir: string;
  timeout: number;
  submit?: boolean;
  wait?: boolean;
  json?: boolean;
}

/** Registers `forge cluster`. */
export function clusterCommand(): Command {
  const cluster = new Command('cluster').description(
    'a local cluster: coordinator and workers on this machine',
  );
  cluster.addCommand(
    new Command('up')
      .description(
        'start the coordinator and N workers in the background (Redis at REDIS_URL, keys under a prefix of their own); restarts a dead coordinator of a running cluster',
      )
      .option('--workers <N>', 'training workers', positiveInt, 2)
      .option(
        '--port <P>',
        'HTTP port of the coordinator API and dashboard (0: a free one)',
        nonNegativeInt,
        3000,
      )
      .option('--grpc-port <P>', "port of the workers' control plane (0: a free one)", nonNegativeInt, 0)
      .option('--runs-dir <dir>', 'where runs write checkpoints', 'runs')
      .option('--timeout <ms>', 'how long to wait for the processes to come up', positiveInt, 120_000)
      .option('--submit', 'then submit the default pretraining run (tiny GPT, built-in corpus)')
      .option('--wait', 'with --submit: follow the run until it ends')
      .option('--json', 'print the cluster (and run) as JSON on the last line')
      .action((flags: UpFlags) => up(flags))
      .exitOverride(),
  );
  cluster.addCommand(
    new Command('status')
      .description("the cluster's API URL, processes and workers")
      .option('--json', 'print JSON: api_url, dashboard_url, workers [{id, pid, state}]')
      .action((flags: { json?: boolean }) => status(flags))
      .exitOverride(),
  );
  cluster.addCommand(
    new Command('down')
      .description('stop the coordinator and the workers')
      .action(() => down())
      .exitOverride(),
  );
  return cluster;
}

async function up(flags: UpFlags): Promise<void> {
  const existing = readClusterState();
  if (existing && isRunning(existing.coordinator.pid)) {
    throw new ForgeError(
      `a cluster is already running at ${existing.apiUrl}`,
      'stop it with forge cluster down',
    );
  }
  if (existing && existing.workers.some((w) => isRunning(w.pid))) {
    // The coordinator died but its workers live on: bring it back; runs continue from Redis.
    const repaired = await restartCoordinator(existing, flags.timeout);
    writeClusterState(repaired);
    info(flags.json, `restarted the coordinator (pid ${repaired.coordinator.pid}) at ${repaired.apiUrl}`);
    if (flags.json) printJson(clusterJson(repaired, await workersOf(repaired)));
    return;
  }
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  await assertRedis(redisUrl);
  // A saved state whose processes all died (e.g. a reboot) is the same cluster coming back: it keeps
  // its prefix, so its runs continue. Otherwise the cluster gets its FORGE_HOME's prefix.
  const redisPrefix = clusterRedisPrefix(existing);
  info(
    flags.json,
    `starting the coordinator and ${flags.workers} workers (Redis ${redisUrl}, keys under ${redisPrefix}) ...`,
  );
  const state = await startLocalCluster({
    workers: flags.workers,
    port: flags.port,
    grpcPort: flags.grpcPort,
    redisUrl,
    redisPrefix,
    runsDir: flags.runsDir,
    timeoutMs: flags.timeout,
  });
  writeClusterState(state);
  info(flags.json, `cluster up: API ${state.apiUrl} (token ${state.token}), dashboard ${state.dashboardUrl}`);
  info(flags.json, `open the dashboard logged in: ${loginUrl(state.dashboardUrl, state.token)}`);
  info(
    flags.json,
    `workers: ${state.workers.map((w) => `${w.id} (pid ${w.pid})`).join(', ')}; logs in ${state.coordinator.log.replace(/[^/]+$/, '')}`,
  );
  info(flags.json, 'stop it with: npx forge cluster down');
  const run = flags.submit
    ? await submitDefaultRun(state, { wait: Boolean(flags.wait), json: Boolean(flags.json) })
    : undefined;
  if (flags.json) printJson({ ...clusterJson(state, await workersOf(state)), ...(run ? { run } : {}) });
}

async function workersOf(state: ClusterState): Promise<ApiWorker[] | undefined> {
  const api = new CoordinatorApi(state.apiUrl, state.token);
  return (await api.healthy()) ? api.workers() : undefined;
}

function clusterJson(state: ClusterState, registered: ApiWorker[] | undefined): object {
  return {
    api_url: state.apiUrl,
    dashboard_url: state.dashboardUrl,
    login_url: loginUrl(state.dashboardUrl, state.token),
    token: state.token,
    redis_prefix: state.redisPrefix,
    coordinator: {
      pid: state.coordinator.pid,
      state: isRunning(state.coordinator.pid) ? 'running' : 'stopped',
    },
    workers: state.workers.map((w) => {
      const seen = registered?.find((r) => r.id === w.id);
      const workerState = !isRunning(w.pid) ? 'stopped' : (seen?.state ?? 'starting');
      return {
        id: w.id,
        pid: w.pid,
        state: workerState,
        ...(seen?.runId ? { run_id: seen.runId, rank: seen.rank } : {}),
      };
    }),
  };
}

async function status(flags: { json?: boolean }): Promise<void> {
  const state = readClusterState();
  if (!state) throw new ForgeError('no cluster was started here', 'start one with forge cluster up');
  const json = clusterJson(state, await workersOf(state)) as ReturnType<typeof clusterJson> & {
    coordinator: { pid: number; state: string };
    workers: { id: string; pid: number; state: string }[];
  };
  if (flags.json) return printJson(json);
  info(
    false,
    `API ${state.apiUrl} (token ${state.token}); dashboard ${loginUrl(state.dashboardUrl, state.token)}`,
  );
  info(false, `Redis ${state.redisUrl}, keys under ${state.redisPrefix}`);
  info(false, `coordinator pid ${json.coordinator.pid}: ${json.coordinator.state}`);
  for (const w of json.workers) info(false, `worker ${w.id} pid ${w.pid}: ${w.state}`);
}

async function down(): Promise<void> {
  const state = readClusterState();
  if (!state) throw new ForgeError('no cluster was started here', 'nothing to stop');
  await stopLocalCluster(state);
  removeClusterState();
  info(false, `stopped the coordinator and ${state.workers.length} workers`);
  // The next `up` of this FORGE_HOME takes the same prefix and lists these runs again.
  info(
    false,
    `its runs stay in Redis under ${state.redisPrefix} for the next \`forge cluster up\` here (to forget them: redis-cli -u ${state.redisUrl} --scan --pattern '${state.redisPrefix}*' | xargs -r redis-cli -u ${state.redisUrl} unlink)`,
  );
}
