/**
 * A client for any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp's server,
 * LM Studio, and Ollama through its `/v1` API), used as the judge of ch. 7.
 */
import { JudgeError } from './judge-error';

/** Where the judge is and how to ask it. */
export interface JudgeOptions {
  /** Base URL (`http://localhost:11434`, `https://api.openai.com/v1`) or the full chat-completions URL. */
  url: string;
  /** Model name, e.g. `llama3` for Ollama or `gpt-4o-mini`. */
  model: string;
  /** Sent as `Authorization: Bearer <key>` when given. */
  apiKey?: string;
  /** Abort a request after this long. @defaultValue 120000 */
  timeoutMs?: number;
  /** Sampling seed sent with each request (the book's 123); servers may ignore it. @defaultValue 123 */
  seed?: number;
}

/** Environment variables read by {@link judgeOptionsFrom}. */
export const JUDGE_ENV = {
  url: 'FORGE_JUDGE_URL',
  model: 'FORGE_JUDGE_MODEL',
  apiKey: 'FORGE_JUDGE_API_KEY',
};

/**
 * Judge options from explicit values, falling back to FORGE_JUDGE_URL, FORGE_JUDGE_MODEL and
 * FORGE_JUDGE_API_KEY. Throws a JudgeError saying how to configure one when URL or model is missing.
 */
export function judgeOptionsFrom(
  given: Partial<Pick<JudgeOptions, 'url' | 'model' | 'apiKey'>>,
  env: NodeJS.ProcessEnv = process.env,
): JudgeOptions {
  const url = given.url ?? env[JUDGE_ENV.url];
  const model = given.model ?? env[JUDGE_ENV.model];
  const apiKey = given.apiKey ?? env[JUDGE_ENV.apiKey];
  if (!url || !model) {
    const missing = [!url && 'URL', !model && 'model name'].filter(Boolean).join(' and ');
    throw new JudgeError(
      `no judge endpoint configured (missing ${missing})`,
      `pass --judge-url and --judge-model (e.g. --judge-url http://localhost:11434 --judge-model llama3 for Ollama) or set ${JUDGE_ENV.url} and ${JUDGE_ENV.model}`,
    );
  }
  return { url, model, ...(apiKey ? { apiKey } : {}) };
}

/** The schemes a judge may be reached by: a judge is an HTTP API, never a file or another protocol. */
export const JUDGE_SCHEMES: readonly string[] = ['http:', 'https:'];

/**
 * `url` parsed, or a JudgeError when it is not a URL or its scheme is not http or https. Checked
 * when a job starts and before any request, so a `file:` or `gopher:` URL never reaches fetch.
 */
export function parseJudgeUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new JudgeError(
      `judge URL ${JSON.stringify(url)} is not a valid URL`,
      'e.g. http://localhost:11434',
    );
  }
  if (!JUDGE_SCHEMES.includes(parsed.protocol)) {
    throw new JudgeError(
      `judge URL ${url} must be http or https (got ${parsed.protocol.replace(/:$/, '')})`,
      'e.g. http://localhost:11434 for Ollama',
    );
  }
  return parsed;
}

/** The chat-completions URL of a base URL: `…/chat/completions` is kept, `…/v1` and bare hosts are completed. */
export function chatCompletionsUrl(url: string): string {
  parseJudgeUrl(url);
  const base = url.replace(/\/+$/, '');
  if (base.endsWith('/chat/completions')) return base;
  if (base.endsWith('/v1')) return `${base}/chat/completions`;
  return `${base}/v1/chat/completions`;
}

/** The reply text of an OpenAI chat-completions response body; a JudgeError when it has none. */
function replyText(body: unknown, endpoint: string): string {
  const choices = (body as { choices?: unknown } | null)?.choices;
  const message = Array.isArray(choices)
    ? (choices[0] as { message?: { content?: unknown } })?.message
    : undefined;
  if (typeof message?.content !== 'string') {
    throw new JudgeError(
      `${endpoint} answered without choices[0].message.content: ${JSON.stringify(body).slice(0, 200)}`,
      'is it an OpenAI-compatible chat-completions endpoint?',
    );
  }
  return message.content;
}

/** Sends single-message chats to a judge model. */
export class JudgeClient {
  /** The chat-completions URL requests go to. */
  readonly endpoint: string;

  constructor(readonly options: JudgeOptions) {
    if (!options.model) throw new JudgeError('judge model name is empty', 'pass --judge-model');
    this.endpoint = chatCompletionsUrl(options.url);
  }

  /** Asks `prompt` as one user message at temperature 0; resolves to the reply text. */
  async complete(prompt: string): Promise<string> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const body = JSON.stringify({
      model: this.options.model,
      messages: [{ role: 'user', content: prompt }],
      temperature: 0,
      seed: this.options.seed ?? 123,
      stream: false,
    });
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers,
        body,
        // A redirect would take the request to a host nobody allowed (the coordinator checks the
        // judge's URL against its allow-list, not where that URL points next).
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 120_000),
      });
    } catch (error) {
      throw new JudgeError(
        `cannot reach the judge at ${this.endpoint}: ${describeFetchError(error)}`,
        'is the server running (e.g. `ollama serve`) and the URL right?',
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw new JudgeError(
        `the judge at ${this.endpoint} answered HTTP ${response.status}: ${text.slice(0, 200)}`,
        response.status === 401 || response.status === 403
          ? 'check the API key'
          : `check the model name "${this.options.model}"`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new JudgeError(`the judge at ${this.endpoint} answered with non-JSON: ${text.slice(0, 200)}`);
    }
    return replyText(parsed, this.endpoint);
  }
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, a timeout). */
function describeFetchError(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer before the timeout';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
