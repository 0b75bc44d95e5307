/**
 * The judge endpoints a finetune job may name (`judge.url` of `POST /finetunes`): an operator's list
 * of scheme, host and port. Without it, any URL in a request made the workers POST to it and echo
 * the first characters of the reply in `evaluation.judgeNote` — a request forgery into whatever the
 * workers can reach (the coordinator, Redis's neighbours, a cloud metadata address).
 */

/** One allowed judge endpoint: every path on it is allowed (`/v1`, `/v1/chat/completions`). */
export interface JudgeEndpoint {
  scheme: 'http' | 'https';
  /** Host name or IP literal, lower case, as URL parses it (IPv6 in brackets). */
  host: string;
  /** Port, the scheme's default (80, 443) when the entry names none. */
  port: number;
}

/** Ollama's default address, as in the book: the one judge local mode allows unless configured. */
export const LOCAL_OLLAMA_JUDGE = 'http://localhost:11434';

const DEFAULT_PORTS: Record<JudgeEndpoint['scheme'], number> = { http: 80, https: 443 };

/** The endpoint of `url`, or undefined when it is not an http(s) URL. */
export function judgeEndpointOf(url: string): JudgeEndpoint | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (scheme !== 'http' && scheme !== 'https') return undefined;
  return {
    scheme,
    host: parsed.hostname.toLowerCase(),
    port: parsed.port === '' ? DEFAULT_PORTS[scheme] : Number(parsed.port),
  };
}

/** `http://host:port` of an endpoint, as operators write it and messages show it. */
export function formatJudgeEndpoint(e: JudgeEndpoint): string {
  return `${e.scheme}://${e.host}:${e.port}`;
}

/**
 * Parses `FORGE_JUDGE_ALLOWLIST`: comma-separated `scheme://host[:port]` entries (no path, query or
 * credentials). Returns the problem of the first bad entry as a string instead of throwing, so the
 * config loader can name the variable.
 */
export function parseJudgeAllowList(value: string): JudgeEndpoint[] | string {
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  const list: JudgeEndpoint[] = [];
  for (const entry of entries) {
    const endpoint = judgeEndpointOf(entry);
    if (!endpoint) return `${JSON.stringify(entry)} is not an http:// or https:// URL`;
    const parsed = new URL(entry);
    if (parsed.username || parsed.password || parsed.search || parsed.hash || parsed.pathname !== '/') {
      return `${JSON.stringify(entry)} must be only scheme://host[:port] (every path on it is allowed)`;
    }
    list.push(endpoint);
  }
  return list;
}

/** Whether `url` is on `list`: same scheme, host and port (any path). */
export function judgeAllowed(url: string, list: readonly JudgeEndpoint[]): boolean {
  const endpoint = judgeEndpointOf(url);
  return (
    endpoint !== undefined &&
    list.some((e) => e.scheme === endpoint.scheme && e.host === endpoint.host && e.port === endpoint.port)
  );
}
