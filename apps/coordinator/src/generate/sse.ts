/** Writes a generation to an HTTP response as server-sent events. */
import type { Response } from 'express';
import type { ActiveGeneration } from './generation-executor';
import type { StreamEvent } from './generation-messages';

/** One event in the text/event-stream format (JSON never holds a raw newline: one data line). */
export function formatEvent(event: StreamEvent): string {
  const data =
    event.type === 'token'
      ? { text: event.text }
      : event.type === 'done'
        ? event.summary
        : { message: event.message };
  return `event: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Sends the headers, then each event as it comes; a client that disconnects cancels the generation.
 * Resolves when the stream has ended.
 */
export async function streamGeneration(generation: ActiveGeneration, res: Response): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
  res.flushHeaders();
  res.on('close', () => generation.cancel()); // after a normal end this is a no-op
  // a client that left while the model was loading has already closed: stop at the first token
  if (res.destroyed || res.socket?.destroyed !== false) generation.cancel();
  for await (const event of generation.events) {
    if (!res.writableEnded && !res.destroyed) res.write(formatEvent(event));
  }
  if (!res.writableEnded) res.end();
}
