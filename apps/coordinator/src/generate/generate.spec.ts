import { createTokenizer } from '@llm-forge/gpt';
import { EventQueue } from './event-queue';
import { isCheckpointRef } from '../runs/checkpoint-resolver';
import { generateRequestSchema } from './generate.schema';
import { IncrementalDecoder } from './generation-core';
import type { StreamEvent } from './generation-messages';
import { formatEvent } from './sse';

describe('generate: pieces', () => {
  const tokenizer = createTokenizer();

  it('holds back a character split across tokens until its last byte arrives', () => {
    const ids = tokenizer.encode('ok 😀!');
    const decoder = new IncrementalDecoder(tokenizer);
    const pieces = ids.map((id) => decoder.push(id));
    expect(pieces.join('') + decoder.flush()).toBe('ok 😀!');
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
    expect(pieces.filter((p) => p === '').length).toBeGreaterThan(0); // the emoji took several tokens
  });

  it('shows an incomplete character at the end as U+FFFD (what decoding the sequence gives)', () => {
    const ids = tokenizer.encode('😀');
    const decoder = new IncrementalDecoder(tokenizer);
    const shown =
      ids
        .slice(0, -1)
        .map((id) => decoder.push(id))
        .join('') + decoder.flush();
    expect(shown).toBe(tokenizer.decode(ids.slice(0, -1)));
    expect(shown).toContain('\uFFFD');
  });

  it('accepts absolute directories and <runId>/<checkpoint>, refuses traversal and other relative paths', () => {
    for (const ok of ['/models/tiny', '/a/../b', 'run-1/step-000100', 'run-1/latest']) {
      expect(isCheckpointRef(ok)).toBe(true);
    }
    for (const bad of ['run-1/..', '../x', '..', 'a/../b', 'run-1/.', 'tiny', 'a/b/c', 'a//b', 'a/b c', '']) {
      expect(isCheckpointRef(bad)).toBe(false);
    }
  });

  it('fills the temperature default and caps maxNewTokens', () => {
    const body = { checkpoint: '/m', prompt: 'hi', maxNewTokens: 5 };
    expect(generateRequestSchema.parse(body)).toEqual({ ...body, temperature: 0 });
    expect(generateRequestSchema.safeParse({ ...body, maxNewTokens: 1025 }).success).toBe(false);
    expect(generateRequestSchema.safeParse({ ...body, temperature: -1 }).success).toBe(false);
    expect(generateRequestSchema.safeParse({ ...body, topK: 0 }).success).toBe(false);
    expect(generateRequestSchema.safeParse({ ...body, extra: 1 }).success).toBe(false);
  });

  it('formats events on one data line each', () => {
    expect(formatEvent({ type: 'token', text: 'a\nb' })).toBe('event: token\ndata: {"text":"a\\nb"}\n\n');
    expect(formatEvent({ type: 'done', summary: { tokens: 2, tokensPerSecond: 4 } })).toBe(
      'event: done\ndata: {"tokens":2,"tokensPerSecond":4}\n\n',
    );
    expect(formatEvent({ type: 'error', message: 'x' })).toBe('event: error\ndata: {"message":"x"}\n\n');
  });

  it('delivers queued events in order, then ends', async () => {
    const queue = new EventQueue<StreamEvent>();
    queue.push({ type: 'token', text: 'a' });
    const read = (async () => {
      const seen: StreamEvent[] = [];
      for await (const e of queue) seen.push(e);
      return seen;
    })();
    await new Promise((r) => setImmediate(r));
    queue.push({ type: 'token', text: 'b' });
    queue.end();
    queue.push({ type: 'token', text: 'ignored' });
    expect(await read).toEqual([
      { type: 'token', text: 'a' },
      { type: 'token', text: 'b' },
    ]);
  });
});
