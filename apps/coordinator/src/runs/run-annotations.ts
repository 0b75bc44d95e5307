/**
 * What a user says about a run — tags, notes, archived — kept apart from the run record, in one Redis
 * hash `<prefix>run-annotations` (field: run id, value: JSON), so the run record, its repository and
 * the drivers that write it never see these fields. A run without an entry has no tags, no notes and
 * is not archived.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { RedisService } from '../redis/redis.service';

/** A run's annotations. */
export interface RunAnnotation {
  /** Free labels to filter by (`baseline`, `lr-sweep`), unique, in the order given. */
  tags: string[];
  /** Free text. */
  notes: string;
  /** Hidden from the runs list unless asked for; the record and files stay. */
  archived: boolean;
}

/** The annotation of a run nobody annotated. */
export const NO_ANNOTATION: Readonly<RunAnnotation> = Object.freeze({ tags: [], notes: '', archived: false });

/** Body of `PATCH /runs/:id`: the fields to change; the others keep their values. */
export const annotationPatchSchema = z
  .object({
    tags: z
      .array(
        z
          .string()
          .trim()
          .min(1, 'a tag is not empty')
          .max(64, 'a tag has at most 64 characters')
          .regex(/^[^,\s]+$/, 'a tag has no spaces or commas'),
      )
      .max(32, 'at most 32 tags')
      .optional(),
    notes: z.string().max(10_000, 'notes have at most 10000 characters').optional(),
    archived: z.boolean().optional(),
  })
  .strict();
/** What `PATCH /runs/:id` may change. */
export type AnnotationPatch = z.infer<typeof annotationPatchSchema>;

/** Reads and writes run annotations. */
@Injectable()
export class RunAnnotations {
  private readonly redis: Redis;
  private readonly key: string;

  constructor(redis: RedisService, @Inject(FORGE_CONFIG) config: CoordinatorConfig) {
    this.redis = redis.client;
    this.key = `${config.redisPrefix}run-annotations`;
  }

  /** The annotation of run `id` (the empty one when none was made). */
  async get(id: string): Promise<RunAnnotation> {
    return parse(await this.redis.hget(this.key, id));
  }

  /** Every stored annotation by run id (one round trip, for the runs list). */
  async all(): Promise<Map<string, RunAnnotation>> {
    const raw = await this.redis.hgetall(this.key);
    return new Map(Object.entries(raw).map(([id, json]) => [id, parse(json)]));
  }

  /**
   * Applies `patch` and returns the result. Read-modify-write without a lock: two users editing the
   * same run's notes at once is not worth a Lua script; the last write wins.
   */
  async update(id: string, patch: AnnotationPatch): Promise<RunAnnotation> {
    const current = await this.get(id);
    const next: RunAnnotation = {
      tags: patch.tags ? [...new Set(patch.tags)] : current.tags,
      notes: patch.notes ?? current.notes,
      archived: patch.archived ?? current.archived,
    };
    await this.redis.hset(this.key, id, JSON.stringify(next));
    return next;
  }

  /** Forgets the annotation of a deleted run. */
  async remove(id: string): Promise<void> {
    await this.redis.hdel(this.key, id);
  }
}

/** A stored annotation; anything unreadable counts as none (a hand-edited hash must not break the list). */
function parse(json: string | null): RunAnnotation {
  if (json === null) return { ...NO_ANNOTATION, tags: [] };
  try {
    const value = JSON.parse(json) as Partial<RunAnnotation>;
    return {
      tags: Array.isArray(value.tags) ? value.tags.filter((t) => typeof t === 'string') : [],
      notes: typeof value.notes === 'string' ? value.notes : '',
      archived: value.archived === true,
    };
  } catch {
    return { ...NO_ANNOTATION, tags: [] };
  }
}
