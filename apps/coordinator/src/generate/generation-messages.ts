/** What flows between the coordinator and the code that generates (a worker thread, or in-process). */

/** One generation, with the checkpoint already resolved to a directory. */
export interface GenerationJob {
  /** Absolute checkpoint directory (config.json + model.safetensors). */
  dir: string;
  prompt: string;
  maxNewTokens: number;
  /** 0: greedy. */
  temperature: number;
  topK?: number;
  seed: number;
}

/** How a generation ended. */
export interface GenerationSummary {
  /** Tokens generated (the end-of-text token that stopped it is not counted). */
  tokens: number;
  /** Tokens per second of generation, model loading excluded. */
  tokensPerSecond: number;
}

/** Why a generation could not start: the checkpoint's fault, or the machinery's. */
export interface StartFailure {
  kind: 'checkpoint' | 'internal';
  message: string;
}

/** What a running generation reports, in order: tokens, then exactly one `done` or `error`. */
export type StreamEvent =
  | { type: 'token'; text: string }
  | { type: 'done'; summary: GenerationSummary }
  | { type: 'error'; message: string };

/** Coordinator → generation thread. */
export type ToGenerationThread =
  { type: 'start'; id: number; job: GenerationJob } | { type: 'cancel'; id: number } | { type: 'close' };

/** Generation thread → coordinator. */
export type FromGenerationThread =
  | { type: 'ready'; backend: string }
  | { type: 'fatal'; error: string }
  | { type: 'started'; id: number }
  | { type: 'failed'; id: number; failure: StartFailure }
  | { type: 'event'; id: number; event: StreamEvent };
