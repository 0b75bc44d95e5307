/** No log line carries a token (issue 14: an error path wrote `req.url` with `?token=…`). */
import { Writable } from 'stream';
import { createLogger, redactSecrets } from './logger';

/** A logger whose lines are collected. */
function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').trim().split('\n'));
      done();
    },
  });
  return { lines, log: createLogger('info', sink) };
}

const TOKEN = 'tok-0123456789abcdef';

describe('log redaction', () => {
  it('scrubs ?token= from URLs and bearer credentials from any string', () => {
    expect(redactSecrets(`/events?token=${TOKEN}`)).toBe('/events?token=[REDACTED]');
    expect(redactSecrets(`/queues?x=1&token=${TOKEN}&y=2`)).toBe('/queues?x=1&token=[REDACTED]&y=2');
    expect(redactSecrets(`got Bearer ${TOKEN}, expected another`)).toBe(
      'got Bearer [REDACTED], expected another',
    );
    expect(redactSecrets('/runs?limit=5')).toBe('/runs?limit=5');
  });

  it('writes no token into a line: the unhandled-error path, headers, errors and messages', () => {
    const { lines, log } = capture();
    log.error({ err: new Error('boom'), method: 'GET', url: `/events?token=${TOKEN}` }, 'unhandled error');
    log.info(
      { req: { headers: { authorization: `Bearer ${TOKEN}`, cookie: `forge_token=${TOKEN}` } } },
      'request',
    );
    log.warn({ err: new Error(`fetch /queues?token=${TOKEN} failed`) }, `retrying /events?token=${TOKEN}`);
    log
      .child({ component: 'x' })
      .info({ config: { apiToken: TOKEN, clusterSecret: 'cluster-secret-1' } }, 'boot');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain('cluster-secret-1');
    }
    expect(JSON.parse(lines[0])).toMatchObject({ url: '/events?token=[REDACTED]', msg: 'unhandled error' });
    expect(JSON.parse(lines[1]).req.headers).toEqual({ authorization: '[REDACTED]', cookie: '[REDACTED]' });
    expect(JSON.parse(lines[2]).err.message).toBe('fetch /queues?token=[REDACTED] failed');
    expect(JSON.parse(lines[2]).msg).toBe('retrying /events?token=[REDACTED]');
  });
});
