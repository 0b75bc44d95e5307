import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import IORedis, { type Redis, type RedisOptions } from 'ioredis';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';

/** Opens an ioredis connection to `url`; `maxRetriesPerRequest: null` as BullMQ requires. */
export function openRedis(url: string): Redis {
  return new IORedis(url, { maxRetriesPerRequest: null, enableOfflineQueue: true });
}

/** ioredis options of a `redis://[:password@]host:port[/db]` URL, for clients that BullMQ opens itself. */
export function redisOptions(url: string): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    db,
    maxRetriesPerRequest: null,
  };
}

/**
 * Drops `client`'s connection without waiting for replies. A connection that has ended already is
 * left alone: ioredis would arm a 2 s "stream still open" timer for it that nothing clears, holding
 * the process (and Jest) open for nothing.
 */
export function disconnectNow(client: Redis): void {
  if (client.status !== 'end') client.disconnect();
}

/**
 * Resolves when Redis at `url` answers PING, or throws a clear error after `timeoutMs`
 * (the coordinator refuses to start without its state store).
 */
export async function assertRedisReachable(url: string, timeoutMs = 2000): Promise<void> {
  const probe = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe.connect().then(() => probe.ping()),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
      }),
    ]);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`Redis at ${url} does not answer (${why}); start one or set REDIS_URL`);
  } finally {
    if (timer) clearTimeout(timer);
    disconnectNow(probe);
  }
}

/** The coordinator's Redis connections: one for run state, one shared by the BullMQ producers. */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  /** Connection for run state and metrics. */
  readonly client: Redis;
  /** Connection shared by the BullMQ queue and flow producer. */
  readonly bullmq: Redis;

  constructor(@Inject(FORGE_CONFIG) config: CoordinatorConfig) {
    this.client = openRedis(config.redisUrl);
    this.bullmq = openRedis(config.redisUrl);
  }

  /** PING with a deadline; false when Redis does not answer in time. */
  async isUp(timeoutMs = 1000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const pong = await Promise.race([
        this.client.ping(),
        new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        }),
      ]);
      return pong === 'PONG';
    } catch {
      return false;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Closes both connections. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.client.quit(), this.bullmq.quit()]);
  }
}
