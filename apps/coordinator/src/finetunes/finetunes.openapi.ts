/**
 * OpenAPI response schemas of the finetune routes, written out by hand (the record is a TypeScript
 * interface, finetune.model.ts); the logged points and the evaluations come from the protocol's zod
 * schemas. Fields a job does not have yet are absent.
 */
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import {
  classificationEvaluationSchema,
  finetuneMetricSchema,
  finetuneSpecSchema,
  instructionEvaluationSchema,
} from '@llm-forge/cluster-protocol';
import { openApiSchema } from '../common/openapi-schema';
import { RUN_STATUSES } from '../runs/run-state';

const int: SchemaObject = { type: 'integer' };
const str: SchemaObject = { type: 'string' };

/** A finetune record (`POST /finetunes`, `GET /finetunes`, cancel). */
export const FINETUNE_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['id', 'kind', 'status', 'spec', 'dataset', 'progress', 'outDir', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string', example: 'ft-3f6c…' },
    name: str,
    kind: { type: 'string', enum: ['classification', 'instruction'] },
    status: { type: 'string', enum: [...RUN_STATUSES] },
    spec: openApiSchema(finetuneSpecSchema),
    baseCheckpoint: { ...str, description: 'the base as submitted (e.g. run-…/step-000200)' },
    dataset: str,
    progress: {
      type: 'object',
      properties: {
        step: int,
        totalSteps: { ...int, description: '0 until rank 0 has loaded the data' },
        epoch: int,
        attempt: int,
      },
    },
    outDir: str,
    members: {
      type: 'array',
      items: { type: 'object', properties: { workerId: str, address: str, sessionId: str } },
    },
    trainableParameters: int,
    totalParameters: int,
    modelDir: { ...str, description: 'the finetuned checkpoint, once completed' },
    error: str,
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
};

/** `GET /finetunes/:id`: the record with its logged points and, once completed, its evaluation. */
export const FINETUNE_DETAIL_SCHEMA: SchemaObject = {
  allOf: [
    FINETUNE_SCHEMA,
    {
      type: 'object',
      properties: {
        metrics: { type: 'array', items: openApiSchema(finetuneMetricSchema) },
        evaluation: {
          oneOf: [openApiSchema(classificationEvaluationSchema), openApiSchema(instructionEvaluationSchema)],
        },
      },
    },
  ],
};
