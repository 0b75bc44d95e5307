import pino from 'pino';
import { LINES_PER_HEARTBEAT, LogTail } from './log-tail';

describe('LogTail', () => {
  it('hands each line to one heartbeat, oldest first, and keeps the newest of a burst', async () => {
    const tail = new LogTail();
    const log = pino({ base: undefined }, tail);
    log.info('first');
    log.warn({ step: 3 }, 'second');
    await new Promise((resolve) => setImmediate(resolve));
    const lines = tail.take().map((l) => JSON.parse(l) as { msg: string; step?: number });
    expect(lines.map((l) => l.msg)).toEqual(['first', 'second']);
    expect(lines[1].step).toBe(3);
    expect(tail.take()).toEqual([]);
    for (let i = 0; i < LINES_PER_HEARTBEAT + 10; i++) log.info(`line ${i}`);
    await new Promise((resolve) => setImmediate(resolve));
    const burst = tail.take();
    expect(burst).toHaveLength(LINES_PER_HEARTBEAT);
    expect(JSON.parse(burst.at(-1) as string).msg).toBe(`line ${LINES_PER_HEARTBEAT + 9}`);
  });
});
