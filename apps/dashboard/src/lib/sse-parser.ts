/**
 * A parser for `text/event-stream` (the WHATWG server-sent events format) fed in arbitrary chunks.
 * EventSource only does GET, so the POST /generate stream is read with fetch and parsed here.
 */

/** One dispatched event. */
export interface SseMessage {
  /** `event:` field; `message` when absent. */
  event: string;
  /** `data:` lines joined by `\n`. */
  data: string;
  id?: string;
}

/** Incremental parser: push text chunks, get the events completed so far. */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  /** Feeds a chunk (may end mid-line) and returns the events it completed. */
  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    // A line ends at \r\n, \n or \r; a trailing lone \r may be the first half of \r\n, so it waits.
    const lineEnd = /\r\n|\n|\r(?!$)/g;
    let start = 0;
    for (let m = lineEnd.exec(this.buffer); m !== null; m = lineEnd.exec(this.buffer)) {
      const message = this.line(this.buffer.slice(start, m.index));
      if (message) out.push(message);
      start = m.index + m[0].length;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** Ends the stream: an event without its closing blank line is dropped, as the spec says. */
  end(): void {
    this.buffer = '';
    this.reset();
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined; // comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    if (this.data.length === 0) {
      this.reset();
      return undefined;
    }
    const message: SseMessage = { event: this.event || 'message', data: this.data.join('\n') };
    if (this.id !== undefined) message.id = this.id;
    this.reset();
    return message;
  }

  private reset(): void {
    this.event = '';
    this.data = [];
  }
}
