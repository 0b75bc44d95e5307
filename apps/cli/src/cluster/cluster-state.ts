/**
 * What `forge cluster up` started, in `<FORGE_HOME>/cluster.json` (default `.forge/` in the current
 * directory), so `status`, `down` and `submit` find the cluster again.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ForgeError, writeTextFileAtomic } from '@llm-forge/gpt';

/** One process of the local cluster. */
export interface ClusterProcess {
  id: string;
  pid: number;
  log: string;
}

/** The saved state of a local cluster. */
export interface ClusterState {
  apiUrl: string;
  dashboardUrl: string;
  token: string;
  /** Shared secret of the control plane and the ring (the file is readable by its owner only). */
  secret: string;
  grpcAddress: string;
  redisUrl: string;
  /**
   * Prefix of every Redis key of this cluster (`forge:<8 hex>:`, see {@link clusterRedisPrefix}): its
   * FORGE_HOME's own, so clusters of other checkouts or FORGE_HOMEs on the same Redis never see its
   * runs or workers.
   */
  redisPrefix: string;
  runsDir: string;
  coordinator: ClusterProcess;
  workers: ClusterProcess[];
  startedAt: string;
}

/** A prefix `forge cluster up` generated: `forge:` and 8 hex digits. */
const GENERATED_PREFIX = /^forge:[0-9a-f]{8}:$/;

/** Whether `prefix` is one that `forge cluster up` generated, so this cluster alone writes under it. */
export function isGeneratedPrefix(prefix: string): boolean {
  return GENERATED_PREFIX.test(prefix);
}

/**
 * The Redis key prefix of the cluster `forge cluster up` starts: the one a saved state already has
 * (the same cluster brought back after its processes died, so its runs continue), else the prefix
 * of its FORGE_HOME — `forge:` and 8 hex digits of the directory's absolute path. So the clusters of
 * one checkout share their runs across `down` and `up` (the dashboard lists them, `<runId>/latest`
 * still resolves) and leave no keys behind that nothing reads, while another checkout or FORGE_HOME on
 * the same Redis gets keys of its own. A state saved before prefixes were generated (the shared
 * `forge:`) gets its home's prefix too.
 */
export function clusterRedisPrefix(saved?: Pick<ClusterState, 'redisPrefix'>, home = forgeHome()): string {
  if (saved && isGeneratedPrefix(saved.redisPrefix)) return saved.redisPrefix;
  return `forge:${createHash('sha256').update(path.resolve(home)).digest('hex').slice(0, 8)}:`;
}

/** The directory of the cluster state and logs. */
export function forgeHome(): string {
  return path.resolve(process.env.FORGE_HOME ?? '.forge');
}

function stateFile(): string {
  return path.join(forgeHome(), 'cluster.json');
}

/** The saved cluster, or undefined when none was started here. */
export function readClusterState(): ClusterState | undefined {
  const file = stateFile();
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ClusterState;
  } catch (error) {
    throw new ForgeError(
      `${file} is not valid JSON (${(error as Error).message})`,
      'delete it and run forge cluster up',
    );
  }
}

/** Saves the cluster state atomically. */
export function writeClusterState(state: ClusterState): void {
  fs.mkdirSync(forgeHome(), { recursive: true });
  writeTextFileAtomic(stateFile(), `${JSON.stringify(state, null, 2)}\n`);
  fs.chmodSync(stateFile(), 0o600); // it holds the API token and the cluster secret
}

/** Forgets the cluster. */
export function removeClusterState(): void {
  fs.rmSync(stateFile(), { force: true });
}

/** Whether a process is alive. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
