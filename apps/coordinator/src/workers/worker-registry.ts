/**
 * The workers the coordinator knows, in Redis (so a coordinator restart keeps them):
 *   <prefix>worker:<id>  hash: session, address, pid, host, backend, lastSeen (ms), held replica, assignment
 *   <prefix>worker-log:<id>  list: its newest log lines (from its heartbeats)
 *   <prefix>workers      set of ids
 * Liveness is derived, not stored: a worker is alive while its last heartbeat is recent (liveness.ts).
 * A worker that leaves is removed at once; one that goes silent is removed by {@link WorkerRegistry.removeSilent}
 * once the retention period has passed (worker-retention.service.ts).
 */
import type { JobKind } from '@llm-forge/cluster-protocol';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'crypto';
import type { Redis } from 'ioredis';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { RedisService } from '../redis/redis.service';

// Sets one field of a hash that exists (a forgotten worker must not come back as a partial record).
const SET_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
`;

// Records a heartbeat of session ARGV[1] (lastSeen ARGV[2], held ARGV[3]); 0 when the session is not
// the stored one. One script, so a record removed in between is not re-created as a partial one.
const HEARTBEAT = `
if redis.call('HGET', KEYS[1], 'sessionId') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'lastSeen', ARGV[2], 'held', ARGV[3], 'resources', ARGV[4])
return 1
`;

// Removes worker ARGV[2] (hash KEYS[1], id set KEYS[2]) unless it was seen at or after ARGV[1]; one
// script, so a heartbeat that lands between the check and the delete keeps the worker.
const REMOVE_IF_SILENT = `
local seen = tonumber(redis.call('HGET', KEYS[1], 'lastSeen'))
if seen ~= nil and seen >= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
`;

/** Log lines kept per worker (the newest). */
export const LOG_LINES_KEPT = 200;

/** What a worker told the coordinator about itself and what it holds. */
export interface WorkerRecord {
  id: string;
  sessionId: string;
  /** host:port of its collective (ring) server. */
  address: string;
  pid: number;
  hostname: string;
  backend: string;
  registeredAt: string;
  /** Epoch milliseconds of the last heartbeat (or registration). */
  lastSeen: number;
  /** The job (run or finetune) whose replica the worker holds in memory, and the steps it applied. */
  held?: { jobId: string; appliedSteps: number };
  /** CPU (percent of one core, since the heartbeat before) and resident memory, as its last heartbeat said. */
  resources?: WorkerResources;
  /** Its place in a ring, set when the worker pool forms a ring (worker-pool.ts). */
  assignment?: WorkerAssignment;
}

/** What a worker process uses, as its heartbeats report it. */
export interface WorkerResources {
  cpuPercent: number;
  rssBytes: number;
}

/** The kinds of training job that share the worker pool. */
export type { JobKind };

/** A worker's place in a job's ring. */
export interface WorkerAssignment {
  /** The job's id (a run's or a finetune's, as `kind` says). */
  jobId: string;
  rank: number;
  worldSize: number;
  attempt: number;
  /** Absent in assignments stored before kinds were recorded: those are runs'. */
  kind?: JobKind;
}

/** What registration stores. */
export type Registration = Pick<WorkerRecord, 'id' | 'address' | 'pid' | 'hostname' | 'backend'>;

/** Reads and writes the worker registry. */
@Injectable()
export class WorkerRegistry {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: RedisService, @Inject(FORGE_CONFIG) config: CoordinatorConfig) {
    this.redis = redis.client;
    this.prefix = config.redisPrefix;
  }

  private key(id: string): string {
    return `${this.prefix}worker:${id}`;
  }

  private get setKey(): string {
    return `${this.prefix}workers`;
  }

  /** Stores a (re)registration under a new session id and returns it; the old session ends. */
  async register(worker: Registration): Promise<string> {
    const sessionId = randomUUID();
    const now = Date.now();
    await this.redis
      .multi()
      .del(this.key(worker.id))
      .hset(this.key(worker.id), {
        id: worker.id,
        sessionId,
        address: worker.address,
        pid: String(worker.pid),
        hostname: worker.hostname,
        backend: worker.backend,
        registeredAt: new Date(now).toISOString(),
        lastSeen: String(now),
      })
      .sadd(this.setKey, worker.id)
      .exec();
    return sessionId;
  }

  /** Records a heartbeat; false when the session is unknown (the worker must register again). */
  async heartbeat(
    id: string,
    sessionId: string,
    held?: WorkerRecord['held'],
    resources?: WorkerResources,
  ): Promise<boolean> {
    const heldField = held ? JSON.stringify(held) : '';
    const resourcesField = resources ? JSON.stringify(resources) : '';
    const now = String(Date.now());
    const done = await this.redis.eval(HEARTBEAT, 1, this.key(id), sessionId, now, heldField, resourcesField);
    return done === 1;
  }

  /** Sets what several workers hold, in one round trip (after a step, for every rank). */
  async setHeldMany(entries: { id: string; held: WorkerRecord['held'] }[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const { id, held } of entries) {
      pipeline.eval(SET_IF_EXISTS, 1, this.key(id), 'held', held ? JSON.stringify(held) : '');
    }
    await pipeline.exec();
  }

  /** Sets (or clears) a worker's place in a ring. */
  async setAssignment(id: string, assignment: WorkerRecord['assignment']): Promise<void> {
    const value = assignment ? JSON.stringify(assignment) : '';
    await this.redis.eval(SET_IF_EXISTS, 1, this.key(id), 'assignment', value);
  }

  /** One worker, or undefined. */
  async get(id: string): Promise<WorkerRecord | undefined> {
    const hash = await this.redis.hgetall(this.key(id));
    return Object.keys(hash).length === 0 ? undefined : fromHash(hash);
  }

  /** Every registered worker, by id. */
  async list(): Promise<WorkerRecord[]> {
    const ids = (await this.redis.smembers(this.setKey)).sort();
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.key(id));
    const results = (await pipeline.exec()) ?? [];
    const workers: WorkerRecord[] = [];
    for (const [err, hash] of results) {
      const h = hash as Record<string, string> | null;
      if (!err && h && Object.keys(h).length > 0) workers.push(fromHash(h));
    }
    return workers;
  }

  /** Forgets a worker. */
  async remove(id: string): Promise<void> {
    await this.redis.multi().del(this.key(id), this.logKey(id)).srem(this.setKey, id).exec();
  }

  /** Appends log lines a worker's heartbeat carried, keeping its newest {@link LOG_LINES_KEPT}. */
  async appendLog(id: string, lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    await this.redis
      .multi()
      .rpush(this.logKey(id), ...lines)
      .ltrim(this.logKey(id), -LOG_LINES_KEPT, -1)
      .exec();
  }

  /** A worker's newest `count` log lines, oldest first. */
  async log(id: string, count: number): Promise<string[]> {
    return this.redis.lrange(this.logKey(id), -count, -1);
  }

  /** Beside the worker hashes, not under `worker:<id>`, so `worker:*` still names the workers alone. */
  private logKey(id: string): string {
    return `${this.prefix}worker-log:${id}`;
  }

  /**
   * Forgets every worker last seen before `cutoff` (epoch ms), and ids whose record is gone; returns
   * the ids removed. A worker that heartbeats meanwhile is kept (the check and the delete are atomic).
   */
  async removeSilent(cutoff: number): Promise<string[]> {
    const ids = (await this.redis.smembers(this.setKey)).sort();
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids)
      pipeline.eval(REMOVE_IF_SILENT, 3, this.key(id), this.setKey, this.logKey(id), cutoff, id);
    const results = (await pipeline.exec()) ?? [];
    return ids.filter((_, i) => !results[i]?.[0] && results[i]?.[1] === 1);
  }
}

function fromHash(h: Record<string, string>): WorkerRecord {
  const record: WorkerRecord = {
    id: h.id,
    sessionId: h.sessionId,
    address: h.address,
    pid: Number(h.pid),
    hostname: h.hostname,
    backend: h.backend,
    registeredAt: h.registeredAt,
    lastSeen: Number(h.lastSeen),
  };
  // Records written before the job engine named the job `runId`.
  const withJobId = <T extends { jobId: string }>(raw: string): T => {
    const { runId, ...rest } = JSON.parse(raw) as T & { runId?: string };
    return { ...rest, jobId: rest.jobId ?? runId } as T;
  };
  if (h.held) record.held = withJobId<NonNullable<WorkerRecord['held']>>(h.held);
  if (h.resources) record.resources = JSON.parse(h.resources) as WorkerResources;
  if (h.assignment) record.assignment = withJobId<WorkerAssignment>(h.assignment);
  return record;
}
