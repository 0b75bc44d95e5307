/**
 * What `forge cluster up` started, in `<FORGE_HOME>/cluster.json` (default `.forge/` in the current
 * directory), so `status`, `down` and `submit` find the cluster again.
 */
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
  redisPrefix: string;
  runsDir: string;
  coordinator: ClusterProcess;
  workers: ClusterProcess[];
  startedAt: string;
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
