/**
 * The generation itself, shared by the worker thread (the built coordinator) and the in-process
 * executor (tests under ts-jest): load the checkpoint through libs/gpt, generate with the KV cache,
 * stop at `<|endoftext|>`, and report the text delta of the decoded sequence after every token.
 */
import { createTokenizer, ForgeError, generateTokens, type Tokenizer } from '@llm-forge/gpt';
import type { GenerationJob, GenerationSummary, StartFailure, StreamEvent } from './generation-messages';
import { type BorrowedModel, ModelCache } from './model-cache';

/** How long a loaded model stays cached after its last generation. @defaultValue 60 s */
export const MODEL_TTL_MS = 60_000;

/** A generation whose model is loaded, ready to stream. */
export interface PreparedGeneration {
  /**
   * Generates, calling `emit` for each token's text and then once with `done` (also when cancelled)
   * or `error`; yields to the event loop between tokens so that cancellation and I/O get through.
   */
  run(emit: (event: StreamEvent) => void, cancelled: () => boolean): Promise<void>;
}

/** Lets pending I/O and messages (a cancel, a socket close) run between two tokens. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Turns a load error into a {@link StartFailure}: the library's errors are the checkpoint's fault. */
export function startFailure(error: unknown): StartFailure {
  if (error instanceof ForgeError) return { kind: 'checkpoint', message: error.message };
  const err = error as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT' || err?.code === 'ENOTDIR' || err instanceof SyntaxError)
    return { kind: 'checkpoint', message: err.message };
  return { kind: 'internal', message: err instanceof Error ? err.message : String(error) };
}

/**
 * Appends `id` and returns the new text to show: the decoded sequence minus what was shown, held
 * back while it ends inside a multi-byte character (decoded as U+FFFD until its last byte arrives).
 */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  private shown = '';

  constructor(private readonly tokenizer: Tokenizer) {}

  /** The text delta after `id` ('' while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.tokenizer.decode(this.ids);
    if (text.endsWith('\uFFFD')) return '';
    return this.take(text);
  }

  /** What is left at the end (an incomplete character stays U+FFFD). */
  flush(): string {
    return this.take(this.tokenizer.decode(this.ids));
  }

  private take(text: string): string {
    const delta = text.slice(this.shown.length);
    this.shown = text;
    return delta;
  }
}

/** Loads checkpoints (cached) and generates from them. */
export class GenerationCore {
  private readonly tokenizer = createTokenizer();
  private readonly models = new ModelCache(MODEL_TTL_MS);

  /** Loads the job's model; throws the library's CheckpointError for an unreadable checkpoint. */
  prepare(job: GenerationJob): PreparedGeneration {
    const borrowed = this.models.acquire(job.dir);
    return { run: (emit, cancelled) => this.run(job, borrowed, emit, cancelled) };
  }

  /** Frees the cached models that are not in use. */
  close(): void {
    this.models.clear();
  }

  private async run(
    job: GenerationJob,
    borrowed: BorrowedModel,
    emit: (event: StreamEvent) => void,
    cancelled: () => boolean,
  ): Promise<void> {
    try {
      emit({ type: 'done', summary: await this.stream(job, borrowed, emit, cancelled) });
    } catch (error) {
      emit({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    } finally {
      borrowed.release();
    }
  }

  private async stream(
    job: GenerationJob,
    { model }: BorrowedModel,
    emit: (event: StreamEvent) => void,
    cancelled: () => boolean,
  ): Promise<GenerationSummary> {
    const eos = this.tokenizer.endOfTextId;
    const decoder = new IncrementalDecoder(this.tokenizer);
    const started = performance.now();
    let tokens = 0;
    const ids = generateTokens(model, this.tokenizer.encode(job.prompt), {
      maxNewTokens: job.maxNewTokens,
      temperature: job.temperature,
      topK: job.topK,
      seed: job.seed,
      eosId: eos,
      useCache: true,
    });
    for (const id of ids) {
      if (id === eos) break;
      tokens++;
      const text = decoder.push(id);
      if (text) emit({ type: 'token', text });
      await yieldToLoop();
      if (cancelled()) break; // leaving the loop ends the generator, which frees the KV cache
    }
    const rest = decoder.flush();
    if (rest) emit({ type: 'token', text: rest });
    const seconds = (performance.now() - started) / 1000;
    return { tokens, tokensPerSecond: seconds > 0 ? tokens / seconds : 0 };
  }
}
