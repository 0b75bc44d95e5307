import * as grpc from '@grpc/grpc-js';
import { METADATA_KEYS } from '@llm-forge/proto';

/** Identity of one collective operation: run, step and attempt. */
export interface OperationKey {
  /** Run id. */
  readonly jobId: string;
  /** Optimizer step. */
  readonly step: number;
  /** Attempt of the step. */
  readonly attempt: number;
}

/** Orders operations of one run by (step, attempt): negative, zero or positive. */
export function compareKeys(a: OperationKey, b: OperationKey): number {
  return a.step !== b.step ? a.step - b.step : a.attempt - b.attempt;
}

/** "step 3 attempt 1" for messages. */
export function describeKey(key: OperationKey): string {
  return `step ${key.step} attempt ${key.attempt}`;
}

/** Call metadata naming the operation, the caller and the shared secret. */
export function operationMetadata(key: OperationKey, secret: string, fromRank: number): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(METADATA_KEYS.secret, secret);
  md.set(METADATA_KEYS.jobId, key.jobId);
  md.set(METADATA_KEYS.step, String(key.step));
  md.set(METADATA_KEYS.attempt, String(key.attempt));
  md.set(METADATA_KEYS.fromRank, String(fromRank));
  return md;
}

function metadataString(md: grpc.Metadata, name: string): string | undefined {
  const value = md.get(name)[0];
  return typeof value === 'string' ? value : undefined;
}

/** The operation a call's metadata names, or undefined when a field is missing or malformed. */
export function keyFromMetadata(md: grpc.Metadata): OperationKey | undefined {
  const jobId = metadataString(md, METADATA_KEYS.jobId);
  const step = Number(metadataString(md, METADATA_KEYS.step));
  const attempt = Number(metadataString(md, METADATA_KEYS.attempt));
  if (jobId === undefined || !Number.isSafeInteger(step) || !Number.isSafeInteger(attempt)) return undefined;
  return { jobId, step, attempt };
}

/** The caller's rank from metadata, or -1. */
export function fromRankOf(md: grpc.Metadata): number {
  const rank = Number(metadataString(md, METADATA_KEYS.fromRank));
  return Number.isInteger(rank) ? rank : -1;
}
