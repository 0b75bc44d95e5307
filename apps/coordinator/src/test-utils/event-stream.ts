/**
 * A client of the coordinator's `GET /events` for e2e specs: listens on the test app's HTTP server,
 * reads the server-sent events as they arrive and lets a test wait for the one it expects.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { TEST_TOKEN, type TestApp } from './harness';

/** One server-sent event: its type and its data, parsed as JSON. */
export interface StreamEvent {
  type: string;
  data: unknown;
}

/** An open `/events` stream. */
export class EventStream {
  /** Every event received so far, oldest first. */
  readonly events: StreamEvent[] = [];
  private buffer = '';
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly request: http.ClientRequest) {}

  /** Opens the stream of the running test app (listening on a free port first); resolves once connected. */
  static async open(ctx: TestApp): Promise<EventStream> {
    const server = ctx.built!.app.getHttpServer() as http.Server;
    if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: `/events?token=${TEST_TOKEN}` });
      const stream = new EventStream(req);
      req.on('error', reject);
      req.on('response', (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET /events answered ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => stream.receive(chunk));
        resolve(stream);
      });
    });
  }

  /**
   * The first event (received before or after the call) of `type` whose data satisfies `matches`;
   * rejects after `timeoutMs` naming what it waited for.
   */
  next<T>(type: string, matches: (data: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
    const find = () =>
      this.events.find((e) => e.type === type && matches(e.data as T))?.data as T | undefined;
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.events.map((e) => e.type).join(', ') || 'none';
        reject(new Error(`no ${type} event with ${what} within ${timeoutMs} ms (events seen: ${seen})`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Closes the connection. */
  close(): void {
    this.request.destroy();
  }

  /** Adds a chunk of the body; every complete event (ended by a blank line) is parsed and kept. */
  private receive(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event = parseEvent(block);
      if (event) this.events.push(event);
    }
    for (const check of [...this.waiters]) check();
  }
}

/** An event's `event:` and `data:` lines; undefined for a block without data (a comment). */
function parseEvent(block: string): StreamEvent | undefined {
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) type = line.slice('event:'.length).trim();
    else if (line.startsWith('data:')) data.push(line.slice('data:'.length).replace(/^ /, ''));
  }
  return data.length === 0 ? undefined : { type, data: JSON.parse(data.join('\n')) as unknown };
}
