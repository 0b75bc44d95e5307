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
  name?: string;
  tokensSeen?: number;
  etaSeconds?: number;
  createdAt?: string;
  /** Figures of `GET /runs` (null before there is one; absent from older coordinators). */
  bestValLoss?: number | null;
  finalValLoss?: number | null;
  durationSeconds?: number | null;
  tokensPerSecond?: number | null;
  tags?: string[];
  notes?: string;
  archived?: boolean;
}

/** A checkpoint of a run (`GET /runs/:id/checkpoints`). */
export interface ApiCheckpoint {
  name: string;
  step: number | null;
  complete: boolean;
  latest?: boolean;
  sizeBytes?: number;
  modifiedAt?: string;
}

/** A finetune job as the coordinator returns it (the fields the CLI reads). */
export interface ApiFinetune {
  id: string;
  name?: string;
  kind?: string;
  baseCheckpoint?: string;
  createdAt?: string;
  updatedAt?: string;
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

  /** Pauses a queued or running run. */
  pauseRun(id: string): Promise<ApiRun> {
    return this.call('POST', `/runs/${encodeURIComponent(id)}/pause`);
  }

  /** Resumes a paused run, from where it stopped or from the named checkpoint. */
  resumeRun(id: string, checkpoint?: string): Promise<ApiRun> {
    return this.call('POST', `/runs/${encodeURIComponent(id)}/resume`, checkpoint ? { checkpoint } : {});
  }

  /** Cancels an unfinished run. */
  cancelRun(id: string): Promise<ApiRun> {
    return this.call('POST', `/runs/${encodeURIComponent(id)}/cancel`);
  }

  /** Changes a run's tags, notes or archived flag. */
  annotateRun(id: string, patch: { tags?: string[]; notes?: string; archived?: boolean }): Promise<ApiRun> {
    return this.call('PATCH', `/runs/${encodeURIComponent(id)}`, patch);
  }

  /** Deletes a finished run's record (and its checkpoint directory with `files`). */
  deleteRun(id: string, files: boolean): Promise<{ id: string; removedDir?: string }> {
    return this.call('DELETE', `/runs/${encodeURIComponent(id)}${files ? '?files=true' : ''}`);
  }

  /** A run's checkpoints by step. */
  checkpoints(id: string): Promise<ApiCheckpoint[]> {
    return this.call('GET', `/runs/${encodeURIComponent(id)}/checkpoints`);
  }

  /** A run's step metrics as the text of a CSV or JSON-lines file. */
  exportMetrics(id: string, format: 'csv' | 'jsonl'): Promise<string> {
    return this.call('GET', `/runs/${encodeURIComponent(id)}/metrics?format=${format}`, undefined, 'text');
  }

  /** Every finetune job, newest first. */
  finetunes(): Promise<ApiFinetune[]> {
    return this.call('GET', '/finetunes');
  }

  /** Cancels an unfinished finetune job. */
  cancelFinetune(id: string): Promise<ApiFinetune> {
    return this.call('POST', `/finetunes/${encodeURIComponent(id)}/cancel`);
  }

  /** Submits a finetune job. */
  createFinetune(spec: object): Promise<ApiFinetune> {
    return this.call('POST', '/finetunes', spec);
  }

  /** One finetune job with metrics and evaluation. */
  finetune(id: string): Promise<ApiFinetune> {
    return this.call('GET', `/finetunes/${encodeURIComponent(id)}`);
  }

  /** Calls the API; the answer parsed as JSON, or its raw text when `as` is `text`. */
  private async call<T>(
    method: string,
    route: string,
    body?: object,
    as: 'json' | 'text' = 'json',
  ): Promise<T> {
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
      throw new CoordinatorRequestError(
        undefined,
        `the coordinator at ${this.baseUrl} does not answer (${(error as Error).message})`,
        'start one with `forge cluster up` or set FORGE_API_URL',
      );
    }
    const text = await res.text();
    if (!res.ok) {
      throw new CoordinatorRequestError(
        res.status,
        `${method} ${route} failed (${res.status}): ${errorMessage(text)}`,
      );
    }
    if (as === 'text') return text as T;
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

/** A request the coordinator did not answer (`status` undefined) or answered with an error status. */
export class CoordinatorRequestError extends ForgeError {
  constructor(
    readonly status: number | undefined,
    message: string,
    hint?: string,
  ) {
    super(message, hint);
    this.name = 'CoordinatorRequestError';
  }

  /**
   * Whether asking again may succeed: no answer or a 5xx (a coordinator restarting, Redis
   * reloading), or a 404 (a job Redis lost, until the coordinator restores it from its memory).
   */
  get transient(): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 404;
  }
}

/** The coordinator's `message` of an error body, else the body itself. */
function errorMessage(text: string): string {
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message;
    return typeof message === 'string' ? message : text;
  } catch {
    return text;
  }
}
