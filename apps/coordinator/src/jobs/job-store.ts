/**
 * The one storage layer of training jobs (runs and finetunes) in Redis: each job is a hash at
 * `<prefix><kind>:<id>` with its `status` in a field of its own (changed only by an atomic
 * compare-and-set), indexed by creation time in the sorted set `<prefix><kind>s`. A kind says how its
 * record lies in the hash ({@link JobCodec}); creating, reading, listing, status changes and patches
 * are written once, here.
 */
import type { Redis } from 'ioredis';
import { STATUS_TRANSITION_SCRIPT } from '../redis/status-transition';
import { isRunStatus, type RunStatus } from '../runs/run-state';

// KEYS[1] = job hash; ARGV[1] = n, ARGV[2..n+1] = field/value pairs to set, the rest = fields to delete.
// Only an existing job is patched (a job Redis lost must stay absent until it is restored).
const PATCH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(ARGV[1])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 2, n + 1)) end
if #ARGV > n + 1 then redis.call('HDEL', KEYS[1], unpack(ARGV, n + 2, #ARGV)) end
return 1
`;

/** What every job record has. */
export interface JobRecord {
  id: string;
  status: RunStatus;
  createdAt: string;
}

/** How the records of one kind of job lie in their hashes. */
export interface JobCodec<J extends JobRecord> {
  /** The kind's key word: `run` gives `<prefix>run:<id>` and the index `<prefix>runs`. */
  readonly kind: string;
  /** The hash of a new job (with its `status`). */
  toHash(job: J): Record<string, string>;
  /** The job of a stored hash; undefined when it is not a whole record. */
  fromHash(id: string, hash: Record<string, string>): J | undefined;
}

/** Result of a compare-and-set of a job's status. */
export type TransitionResult =
  { ok: true; previous: RunStatus } | { ok: false; current: RunStatus | undefined };

/** Jobs of one kind in Redis. */
export class JobStore<J extends JobRecord> {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly codec: JobCodec<J>,
  ) {}

  /** The hash key of job `id` (its other keys, such as a run's metrics list, extend it). */
  key(id: string): string {
    return `${this.prefix}${this.codec.kind}:${id}`;
  }

  private indexKey(): string {
    return `${this.prefix}${this.codec.kind}s`;
  }

  /** Stores a new job and indexes it. */
  async create(job: J): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key(job.id), this.codec.toHash(job))
      .zadd(this.indexKey(), Date.parse(job.createdAt), job.id)
      .exec();
  }

  /** The job, or undefined. */
  async get(id: string): Promise<J | undefined> {
    const hash = await this.redis.hgetall(this.key(id));
    return Object.keys(hash).length === 0 ? undefined : this.codec.fromHash(id, hash);
  }

  /** Every job, newest first (records Redis lost half of are left out). */
  async list(): Promise<J[]> {
    const ids = await this.redis.zrevrange(this.indexKey(), 0, -1);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.key(id));
    const jobs: J[] = [];
    ((await pipeline.exec()) ?? []).forEach(([err, hash], i) => {
      if (err || !hash || typeof hash !== 'object' || Object.keys(hash).length === 0) return;
      const job = this.codec.fromHash(ids[i], hash as Record<string, string>);
      if (job) jobs.push(job);
    });
    return jobs;
  }

  /** Sets the status to `to` if it is one of `from` (atomically). */
  async transition(id: string, from: readonly RunStatus[], to: RunStatus): Promise<TransitionResult> {
    const [ok, cur] = (await this.redis.eval(
      STATUS_TRANSITION_SCRIPT,
      1,
      this.key(id),
      to,
      new Date().toISOString(),
      ...from,
    )) as [number, string];
    if (ok === 1 && isRunStatus(cur)) return { ok: true, previous: cur };
    return { ok: false, current: isRunStatus(cur) ? cur : undefined };
  }

  /** Deletes job `id`: its hash, the keys `extraKeys` beside it, and its index entry, in one transaction. */
  async remove(id: string, extraKeys: readonly string[] = []): Promise<void> {
    await this.redis
      .multi()
      .zrem(this.indexKey(), id)
      .del(this.key(id), ...extraKeys)
      .exec();
  }

  /**
   * Sets the fields `set` and deletes the fields `remove` of an existing job in one round trip (a job
   * Redis lost stays absent). Status changes go through {@link transition}.
   */
  async patch(id: string, set: Record<string, string>, remove: readonly string[] = []): Promise<void> {
    const pairs = Object.entries(set).flat();
    await this.redis.eval(PATCH_SCRIPT, 1, this.key(id), String(pairs.length), ...pairs, ...remove);
  }
}
