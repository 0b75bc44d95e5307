/** A small typed client of the coordinator's REST API (global fetch), for `forge cluster` and `forge submit`. */
import type {
  ClassificationEvaluation,
  FinetuneMetric,
  InstructionEvaluation,
} from '@llm-forge/cluster-protocol';
import { ForgeError } from '@llm-forge/gpt';

/** A run as the coordinator returns it (the fields the CLI reads). */
export interface ApiRun {
  id: string;
  status: 'queued' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
  progress: { step: number; totalSteps: number; attempt: number };
  checkpointDir: string;
  error?: string;
  lastCheckpoint?: string;
  metrics?: { step: number; loss: number; tokensPerSecond?: number; stepMs?: number }[];
  evals?: { step: number; trainLoss: number; valLoss?: number }[];
  samples?: { step: number; text: string }[];
  spec?: { workers: number };
  /** The ring of the current attempt (fewer than `spec.workers` when it shrank). */
  members?: { workerId: string }[];
}

/** A finetune job as the coordinator returns it (the fields the CLI reads). */
export interface ApiFinetune {
  id: string;
  status: ApiRun['status'];
  progress: { step: number; totalSteps: number; epoch: number; attempt: number };
  outDir: string;
  error?: string;
  modelDir?: string;
  trainableParameters?: number;
  metrics?: FinetuneMetric[];
  evaluation?: ClassificationEvaluation | InstructionEvaluation;
}

/** A worker as `GET /workers` returns it. */
export interface ApiWorker {
  id: string;
  pid: number;
  state: 'training' | 'idle' | 'lost';
  address: string;
  backend: string;
  runId?: string;
  rank?: number;
}

/** Calls the coordinator at `baseUrl` with a bearer token. */
export class CoordinatorApi {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  /** GET /health; false when the coordinator does not answer. */
  async healthy(): Promise<boolean> {
    try {
      return (await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(2000) })).ok;
    } catch {
      return false;
    }
  }

  /** Registered workers. */
  workers(): Promise<ApiWorker[]> {
    return this.call('GET', '/workers');
  }

  /** Creates a run. */
  createRun(spec: object): Promise<ApiRun> {
    return this.call('POST', '/runs', spec);
  }

  /** Every run, newest first. */
  runs(): Promise<ApiRun[]> {
    return this.call('GET', '/runs');
  }

  /** One run with metrics. */
  run(id: string): Promise<ApiRun> {
    return this.call('GET', `/runs/${encodeURIComponent(id)}`);
  }

  /** Submits a finetune job. */
  createFinetune(spec: object): Promise<ApiFinetune> {
    return this.call('POST', '/finetunes', spec);
  }

  /** One finetune job with metrics and evaluation. */
  finetune(id: string): Promise<ApiFinetune> {
    return this.call('GET', `/finetunes/${encodeURIComponent(id)}`);
  }

  private async call<T>(method: string, route: string, body?: object): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${route}`, {
        method,
        headers: {
          ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      throw new ForgeError(
        `the coordinator at ${this.baseUrl} does not answer (${(error as Error).message})`,
        'start one with `forge cluster up` or set FORGE_API_URL',
      );
    }
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const message = (json as { message?: string } | undefined)?.message ?? text;
      throw new ForgeError(`${method} ${route} failed (${res.status}): ${message}`);
    }
    return json as T;
  }
}
