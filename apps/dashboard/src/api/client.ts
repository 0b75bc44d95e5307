/**
 * Typed client of the coordinator's REST API. Every call sends the bearer token; a 401 raises
 * {@link UnauthorizedError} (and calls `onUnauthorized`, which makes the app ask for the token again);
 * other failures raise {@link ApiError} carrying the coordinator's message and field issues.
 */
import { SseParser } from '../lib/sse-parser';
import type {
  ApiErrorBody,
  CheckpointInfo,
  CreateFinetuneRequest,
  Finetune,
  FinetuneDetail,
  GenerateRequest,
  ResumeRequest,
  Run,
  RunAnnotationPatch,
  RunDetail,
  RunSpecInput,
  WorkerInfo,
} from './types';

/** A failed API call: HTTP status, the coordinator's message and error code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly issues: { field: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The token is missing or wrong (HTTP 401). */
export class UnauthorizedError extends ApiError {
  constructor(message: string) {
    super(401, message, 'unauthorized');
    this.name = 'UnauthorizedError';
  }
}

/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  /** Origin and path prefix of the API. @defaultValue '' (same origin) */
  baseUrl?: string;
  /** The bearer token now in use (null: none yet). */
  getToken: () => string | null;
  /** Called on every 401, before the error is thrown. */
  onUnauthorized?: () => void;
  /** fetch implementation. @defaultValue the global fetch */
  fetch?: typeof fetch;
}

type Shape = 'array' | 'object';

/** Turns an error response into an {@link ApiError} with the most useful message available. */
async function errorFrom(res: Response, what: string): Promise<ApiError> {
  let body: ApiErrorBody = {};
  try {
    body = (await res.json()) as ApiErrorBody;
  } catch {
    // not JSON (a proxy's HTML page, an empty body): the status line has to do
  }
  const issues = Array.isArray(body.issues) ? body.issues : [];
  const message =
    typeof body.message === 'string' && body.message !== ''
      ? body.message
      : `${what} failed: HTTP ${res.status} ${res.statusText}`.trim();
  if (res.status === 401) return new UnauthorizedError(message);
  return new ApiError(res.status, message, body.error, issues);
}

/** The coordinator's REST API. */
export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: ApiClientOptions) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/$/, '');
    // Wrapped so that the browser's fetch is never called with a foreign `this`.
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** All runs, newest first. */
  listRuns(): Promise<Run[]> {
    return this.json<Run[]>('GET', '/runs', 'array');
  }

  /** One run with its metrics, evaluations and samples. */
  getRun(id: string): Promise<RunDetail> {
    return this.json<RunDetail>('GET', `/runs/${encodeURIComponent(id)}`, 'object');
  }

  /** Creates a run (the flags of `forge train` as JSON). */
  createRun(spec: RunSpecInput): Promise<Run> {
    return this.json<Run>('POST', '/runs', 'object', spec);
  }

  /** Pauses a queued or running run. */
  pauseRun(id: string): Promise<Run> {
    return this.json<Run>('POST', `/runs/${encodeURIComponent(id)}/pause`, 'object');
  }

  /** Resumes a paused run, from where it stopped or from a named checkpoint. */
  resumeRun(id: string, request: ResumeRequest = {}): Promise<Run> {
    return this.json<Run>('POST', `/runs/${encodeURIComponent(id)}/resume`, 'object', request);
  }

  /** Cancels an unfinished run. */
  cancelRun(id: string): Promise<Run> {
    return this.json<Run>('POST', `/runs/${encodeURIComponent(id)}/cancel`, 'object');
  }

  /** Changes a run's tags, notes or archived flag; resolves to the run as the list shows it. */
  annotateRun(id: string, patch: RunAnnotationPatch): Promise<Run> {
    return this.json<Run>('PATCH', `/runs/${encodeURIComponent(id)}`, 'object', patch);
  }

  /** Deletes a finished run's record (and its checkpoint directory when `files`). */
  deleteRun(id: string, files = false): Promise<{ id: string; removedDir?: string }> {
    const query = files ? '?files=true' : '';
    return this.json('DELETE', `/runs/${encodeURIComponent(id)}${query}`, 'object');
  }

  /** A run's step metrics as the text of a CSV or JSON-lines file. */
  async exportMetrics(id: string, format: 'csv' | 'jsonl'): Promise<string> {
    const accept = format === 'csv' ? 'text/csv' : 'application/x-ndjson';
    const path = `/runs/${encodeURIComponent(id)}/metrics?format=${format}`;
    return (await this.send('GET', path, undefined, undefined, accept)).text();
  }

  /** A file of one of a run's checkpoints (`model.safetensors`, `config.json`, …) as a Blob. */
  async checkpointFile(id: string, checkpoint: string, file: string): Promise<Blob> {
    const route = [id, 'checkpoints', checkpoint, 'files', file].map(encodeURIComponent).join('/');
    return (
      await this.send('GET', `/runs/${route}`, undefined, undefined, 'application/octet-stream')
    ).blob();
  }

  /** Checkpoints of a run, oldest first. */
  listCheckpoints(id: string): Promise<CheckpointInfo[]> {
    return this.json<CheckpointInfo[]>('GET', `/runs/${encodeURIComponent(id)}/checkpoints`, 'array');
  }

  /** Registered workers. */
  listWorkers(): Promise<WorkerInfo[]> {
    return this.json<WorkerInfo[]>('GET', '/workers', 'array');
  }

  /** A worker's newest log lines (JSON lines, oldest first), as its heartbeats carried them. */
  async workerLog(id: string, lines = 50): Promise<string[]> {
    const body = await this.json<{ lines: string[] }>(
      'GET',
      `/workers/${encodeURIComponent(id)}/logs?lines=${lines}`,
      'object',
    );
    return body.lines;
  }

  /** All finetune jobs. */
  listFinetunes(): Promise<Finetune[]> {
    return this.json<Finetune[]>('GET', '/finetunes', 'array');
  }

  /** One finetune job with metrics and evaluation. */
  getFinetune(id: string): Promise<FinetuneDetail> {
    return this.json<FinetuneDetail>('GET', `/finetunes/${encodeURIComponent(id)}`, 'object');
  }

  /** Submits a finetune job. */
  createFinetune(request: CreateFinetuneRequest): Promise<Finetune> {
    return this.json<Finetune>('POST', '/finetunes', 'object', request);
  }

  /** Cancels a finetune job. */
  cancelFinetune(id: string): Promise<Finetune> {
    return this.json<Finetune>('POST', `/finetunes/${encodeURIComponent(id)}/cancel`, 'object');
  }

  /**
   * Generates from a checkpoint, calling `onToken` with each piece of text as it streams in; resolves
   * at `event: done` (or when the stream ends), rejects with the server's message on `event: error`.
   */
  async generate(
    request: GenerateRequest,
    onToken: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const res = await this.send('POST', '/generate', request, signal, 'text/event-stream');
    if (!res.body) throw new ApiError(res.status, 'generate: the response has no body to stream');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      for (const message of parser.push(value)) {
        if (message.event === 'done') {
          await reader.cancel();
          return;
        }
        const data = parseJson(message.data, `generate: event ${message.event}`);
        if (message.event === 'error') throw new ApiError(500, stringField(data, 'message') ?? message.data);
        if (message.event === 'token') onToken(stringField(data, 'text') ?? '');
      }
    }
  }

  /** URL of the server-sent events stream (EventSource cannot send headers: the token rides in the query). */
  eventsUrl(): string {
    return `${this.baseUrl}/events?token=${encodeURIComponent(this.options.getToken() ?? '')}`;
  }

  private async json<T>(method: string, path: string, shape: Shape, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const value = parseJson(await res.text(), `${method} ${path}`);
    const ok = shape === 'array' ? Array.isArray(value) : typeof value === 'object' && value !== null;
    if (!ok)
      throw new ApiError(res.status, `${method} ${path}: expected a JSON ${shape}, got ${describe(value)}`);
    return value as T;
  }

  private async send(
    method: string,
    path: string,
    body: unknown,
    signal?: AbortSignal,
    accept = 'application/json',
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept };
    const token = this.options.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (res.ok) return res;
    const error = await errorFrom(res, `${method} ${path}`);
    if (error instanceof UnauthorizedError) this.options.onUnauthorized?.();
    throw error;
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(0, `${what}: the response is not JSON (${text.slice(0, 60)})`);
  }
}

function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}
