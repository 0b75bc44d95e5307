/**
 * Deletes a finished run's record from Redis: its hash, metrics, evaluations and samples, and its
 * entry in the runs index. The keys are those runs.repository.ts documents (`<prefix>run:<id>` and
 * its `:metrics`, `:evals`, `:samples` lists; the index `<prefix>runs`): the repository and the shared
 * JobStore have no delete yet, and they belong to the job engine, so this file only removes what they
 * write and must follow them if that layout changes.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { RedisService } from '../redis/redis.service';

/** The suffixes of a run's lists next to its hash. */
const HISTORY_SUFFIXES = ['metrics', 'evals', 'samples'] as const;

/** Removes run records. */
@Injectable()
export class RunRemoval {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: RedisService, @Inject(FORGE_CONFIG) config: CoordinatorConfig) {
    this.redis = redis.client;
    this.prefix = config.redisPrefix;
  }

  /** Deletes every key of run `id` in one transaction (a crash leaves all or nothing). */
  async remove(id: string): Promise<void> {
    const hash = `${this.prefix}run:${id}`;
    await this.redis
      .multi()
      .zrem(`${this.prefix}runs`, id)
      .del(hash, ...HISTORY_SUFFIXES.map((s) => `${hash}:${s}`))
      .exec();
  }
}
