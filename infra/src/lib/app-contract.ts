/**
 * What the LLM Forge processes need from their environment (apps/coordinator and apps/worker
 * READMEs): the variables they read, the ports they listen on and how a container is
 * recognised. Both the Kubernetes and the compose checks test the deployment against this.
 */
export interface AppContract {
  role: 'coordinator' | 'worker';
  /** Image repository names (last path segments) that run this app with its default command. */
  images: readonly string[];
  /** Variables the app reads that the deployment must set. */
  requiredEnv: readonly string[];
  /** Ports the app listens on: the variable that sets each (if any) and its default. */
  ports: readonly { name: string; env?: string; default: number }[];
}

export const COORDINATOR: AppContract = {
  role: 'coordinator',
  images: ['llm-forge/coordinator'],
  requiredEnv: [
    'PORT',
    'REDIS_URL',
    'FORGE_API_TOKEN',
    'FORGE_CLUSTER_SECRET',
    'FORGE_GRPC_PORT',
    'FORGE_REDIS_PREFIX',
    'FORGE_RUNS_DIR',
    'LOG_LEVEL',
  ],
  ports: [
    { name: 'http', env: 'PORT', default: 3000 },
    { name: 'grpc', env: 'FORGE_GRPC_PORT', default: 50051 },
  ],
};

export const WORKER: AppContract = {
  role: 'worker',
  images: ['llm-forge/worker-gpu', 'llm-forge/worker-cpu'],
  requiredEnv: [
    'FORGE_COORDINATOR_URL',
    'FORGE_CLUSTER_SECRET',
    'REDIS_URL',
    'FORGE_REDIS_PREFIX',
    'FORGE_WORKER_ID',
    'FORGE_COLLECTIVE_PORT',
    'FORGE_METRICS_PORT',
    'FORGE_ADVERTISE_HOST',
    'FORGE_BACKEND',
  ],
  ports: [
    { name: 'collective', env: 'FORGE_COLLECTIVE_PORT', default: 50052 },
    // Without FORGE_METRICS_PORT the worker serves no /metrics (and its probes would fail).
    { name: 'metrics', env: 'FORGE_METRICS_PORT', default: 9464 },
  ],
};

export const APPS: readonly AppContract[] = [COORDINATOR, WORKER];

/** The coordinator's rule for FORGE_REDIS_PREFIX (apps/coordinator config schema). */
export const REDIS_PREFIX_PATTERN = /^[A-Za-z0-9_.:-]+:$/;

/** Values FORGE_BACKEND accepts. */
export const FORGE_BACKENDS = ['auto', 'tensorflow', 'native', 'wasm', 'cpu'] as const;

/** The coordinator refuses shorter API tokens; the cluster secret gets the same floor. */
export const MIN_SECRET_LENGTH = 16;

/** The app an image runs (by repository name, registry and tag ignored), if any. */
export function appOfImage(image: string): AppContract | undefined {
  const name = image.split('@')[0].replace(/:[^/:]*$/, '');
  return APPS.find((app) => app.images.some((repo) => name === repo || name.endsWith(`/${repo}`)));
}

/** Whether a path lies under a directory (both absolute, POSIX). */
export function isUnder(file: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir : `${dir}/`;
  return file === dir || file.startsWith(d);
}
