/** Body of `POST /generate`, validated with zod (the OpenAPI schema is derived from it). */
import { z } from 'zod';
import { isCheckpointRef } from '../runs/checkpoint-resolver';

/** Most tokens one request may generate (a bound on the time one request holds a slot). */
export const MAX_NEW_TOKENS = 1024;
/** Tokens generated when a request does not say (the README's example; a few seconds on a CPU). */
export const DEFAULT_NEW_TOKENS = 50;
/** Longest prompt accepted, in characters (the model only sees its last context-length tokens). */
export const MAX_PROMPT_CHARS = 20_000;

/** `POST /generate` request. */
export const generateRequestSchema = z
  .object({
    checkpoint: z
      .string()
      .min(1)
      .max(4096)
      .refine(isCheckpointRef, {
        message:
          'an absolute checkpoint directory, or <runId>/<checkpointName> (e.g. run-…/step-000100 or run-…/latest); "." and ".." segments are not allowed',
      })
      .describe('an absolute checkpoint directory, or <runId>/<checkpointName> (<runId>/latest: its newest)'),
    prompt: z.string().min(1).max(MAX_PROMPT_CHARS).describe('the text to continue'),
    maxNewTokens: z
      .number()
      .int()
      .min(1)
      .max(MAX_NEW_TOKENS)
      .default(DEFAULT_NEW_TOKENS)
      .describe(`tokens to generate at most (default ${DEFAULT_NEW_TOKENS})`),
    temperature: z.number().min(0).max(10).default(0).describe('sampling temperature; 0 is greedy'),
    topK: z.number().int().min(1).optional().describe('sample among the K most likely tokens'),
    seed: z.number().int().min(0).optional().describe('sampling seed (random when absent)'),
  })
  .strict();

/** A validated `POST /generate` body (defaults filled). */
export type GenerateRequest = z.infer<typeof generateRequestSchema>;
