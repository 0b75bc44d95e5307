/**
 * The newest lines a worker logged, kept in memory for its heartbeats: each heartbeat sends the lines
 * written since the one before (at most {@link LINES_PER_HEARTBEAT}), so the coordinator can show a
 * worker's recent log where its files cannot be read (another machine, a container).
 */
import { Writable } from 'stream';

/** Lines one heartbeat carries at most (a burst beyond that keeps its newest lines). */
export const LINES_PER_HEARTBEAT = 50;
/** Longest line kept, in characters (a huge error stays readable and a heartbeat stays small). */
const MAX_LINE_CHARS = 2000;

/** A pino destination that keeps the lines not yet sent. */
export class LogTail extends Writable {
  private pending: string[] = [];
  private partial = '';

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error) => void): void {
    const text = this.partial + chunk.toString();
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line !== '')
        this.pending.push(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
    }
    if (this.pending.length > LINES_PER_HEARTBEAT) this.pending = this.pending.slice(-LINES_PER_HEARTBEAT);
    done();
  }

  /** The lines written since the last call (oldest first), and forgets them. */
  take(): string[] {
    const lines = this.pending;
    this.pending = [];
    return lines;
  }
}
