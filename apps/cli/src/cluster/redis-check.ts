/** Checks that a Redis answers at a URL before starting anything that needs it. */
import * as net from 'net';
import { ForgeError } from '@llm-forge/gpt';

/** Resolves when `redis://host:port` answers PING; throws a one-line error saying what to do otherwise. */
export async function assertRedis(url: string, timeoutMs = 2000): Promise<void> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname;
    port = Number(u.port || 6379);
  } catch {
    throw new ForgeError(`REDIS_URL is not a URL: ${JSON.stringify(url)}`, 'use redis://host:port');
  }
  const reply = await new Promise<string>((resolve) => {
    const socket = net.connect({ host, port });
    const done = (answer: string) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done('timed out'));
    socket.once('error', (err) => done(err.message));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString('utf8').trim()));
  });
  // -NOAUTH still proves a Redis is there; the processes authenticate with the URL's password.
  if (!reply.startsWith('+PONG') && !reply.startsWith('-NOAUTH')) {
    throw new ForgeError(
      `no Redis answers at ${url} (${reply})`,
      'start one (e.g. `redis-server --daemonize yes`) or set REDIS_URL',
    );
  }
}
