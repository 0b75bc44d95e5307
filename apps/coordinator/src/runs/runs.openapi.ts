/**
 * OpenAPI response schemas of the runs routes, written out by hand: the run record is a TypeScript
 * interface (run.model.ts), not a zod schema the document could derive it from. They describe what
 * clients may read; fields a run does not have yet are absent.
 */
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { runSpecSchema } from '@llm-forge/cluster-protocol';
import { openApiSchema } from '../common/openapi-schema';
import { RUN_STATUSES } from './run-state';

const num: SchemaObject = { type: 'number' };
const int: SchemaObject = { type: 'integer' };
const str: SchemaObject = { type: 'string' };
const nullableNum: SchemaObject = { type: 'number', nullable: true };

/** A run record (`POST /runs`, the actions). */
export const RUN_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['id', 'status', 'spec', 'progress', 'checkpointDir', 'tokensSeen', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string', example: 'run-3f6c…' },
    name: str,
    status: { type: 'string', enum: [...RUN_STATUSES] },
    spec: openApiSchema(runSpecSchema),
    progress: {
      type: 'object',
      properties: { step: int, totalSteps: int, attempt: int },
    },
    checkpointDir: str,
    members: {
      type: 'array',
      items: { type: 'object', properties: { workerId: str, address: str, sessionId: str } },
    },
    tokensSeen: int,
    lastCheckpoint: str,
    error: str,
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
};

/** The figures and annotations `GET /runs` adds to each run. */
const SUMMARY_FIELDS: Record<string, SchemaObject> = {
  bestValLoss: { ...nullableNum, description: 'lowest validation loss; null before the first evaluation' },
  finalValLoss: { ...nullableNum, description: 'validation loss of the last evaluation' },
  durationSeconds: { ...nullableNum, description: 'wall time from creation to the end, or to now' },
  tokensPerSecond: { ...nullableNum, description: 'median of the last 20 steps' },
  etaSeconds: { ...num, description: 'running runs: seconds left at the recent pace' },
  tags: { type: 'array', items: str },
  notes: str,
  archived: { type: 'boolean' },
};

/** A run as `GET /runs` lists it (and `PATCH /runs/:id` answers). */
export const RUN_SUMMARY_SCHEMA: SchemaObject = {
  allOf: [RUN_SCHEMA, { type: 'object', properties: SUMMARY_FIELDS }],
};

/** One step's metrics. */
const STEP_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    step: { ...int, description: '0-based index of the step taken' },
    loss: {
      ...num,
      description:
        "mean loss over the global batch before the update: DDP, the ranks' all-reduced loss; DiLoCo, the mean of the ranks' own losses (workers[].loss, weighted by their tokens)",
    },
    lr: num,
    gradNorm: num,
    tokensPerSecond: num,
    computeMs: num,
    commMs: num,
    bytesSent: int,
    stepMs: {
      ...num,
      description:
        "wall time of the step's flow (enqueued to its last rank's result), shared by the steps it covered in proportion to their wall time on the slowest rank",
    },
    workers: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          workerId: str,
          rank: int,
          loss: num,
          computeMs: num,
          commMs: num,
          wallMs: {
            ...num,
            description: "the step's training on the rank (no evaluation, checkpoint or job start)",
          },
          jobMs: { ...num, description: "the rank job's wall time per step it covered" },
          bytesSent: int,
        },
      },
    },
  },
};

/** `GET /runs/:id`: the run with its history. */
export const RUN_DETAIL_SCHEMA: SchemaObject = {
  allOf: [
    RUN_SUMMARY_SCHEMA,
    {
      type: 'object',
      properties: {
        metrics: { type: 'array', items: STEP_SCHEMA, description: 'the last 1,000 steps' },
        evals: {
          type: 'array',
          items: {
            type: 'object',
            properties: { step: { ...int, description: 'steps applied' }, trainLoss: num, valLoss: num },
          },
        },
        samples: { type: 'array', items: { type: 'object', properties: { step: int, text: str } } },
      },
    },
  ],
};

/** `GET /runs/:id/checkpoints` item. */
export const CHECKPOINT_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    name: { type: 'string', example: 'step-000100' },
    path: str,
    step: { ...int, nullable: true },
    complete: { type: 'boolean' },
    latest: { type: 'boolean' },
    sizeBytes: int,
    modifiedAt: { type: 'string', format: 'date-time' },
  },
};

/** `DELETE /runs/:id` answer. */
export const DELETED_SCHEMA: SchemaObject = {
  type: 'object',
  properties: { id: str, deleted: { type: 'boolean', enum: [true] }, removedDir: str },
};
