/**
 * Messages between a {@link ThreadedRingAllReduce} and its thread (ring-thread.ts), and how a
 * collective error crosses between them with its class and fields intact.
 */
import { CollectiveAuthError } from '../errors/collective-auth-error';
import { CollectiveClosedError } from '../errors/collective-closed-error';
import { CollectiveConfigError } from '../errors/collective-config-error';
import { CollectiveError } from '../errors/collective-error';
import { CollectivePeerError } from '../errors/collective-peer-error';
import { CollectiveTimeoutError } from '../errors/collective-timeout-error';
import type { AllReduceOptions, RingAllReduceOptions } from '../options/ring-options';
import type { AllReduceResult } from '../ring/all-reduce-ring';

/** A module export the thread uses as a kernel: functions cannot be posted to a thread. */
export interface KernelExport {
  /** Module path (absolute, or resolvable from this library) that the thread requires. */
  module: string;
  /** Name of the function export. */
  exportName: string;
}

/** The ring options that are functions, given to the thread as {@link KernelExport}s instead. */
export const KERNEL_OPTIONS = ['sumInto', 'divideInPlace', 'bf16Encode', 'bf16Decode', 'bf16Round'] as const;

/** One of {@link KERNEL_OPTIONS}. */
export type KernelOption = (typeof KERNEL_OPTIONS)[number];

/** The kernels of a ring, each as the module export that provides it (absent: the default). */
export type KernelExports = Partial<Record<KernelOption, KernelExport>>;

/** Splits options into the ring's plain options and its kernels. */
export function splitKernels<T extends KernelExports>(
  options: T,
): { ringOptions: Omit<T, KernelOption>; kernels: KernelExports } {
  const ringOptions: Record<string, unknown> = { ...options };
  const kernels: KernelExports = {};
  for (const name of KERNEL_OPTIONS) {
    if (options[name] !== undefined) kernels[name] = options[name];
    delete ringOptions[name];
  }
  return { ringOptions: ringOptions as Omit<T, KernelOption>, kernels };
}

/** The thread's workerData. */
export interface RingThreadConfig {
  options: Omit<RingAllReduceOptions, KernelOption>;
  kernels: KernelExports;
}

/** Requests to the thread; each carries an id its answer repeats. */
export type ToRingThread =
  | { type: 'connect'; id: number; addresses: string[]; timeoutMs?: number }
  | { type: 'reconfigure'; id: number; place: { rank: number; worldSize: number; jobId?: string } }
  | {
      type: 'all-reduce';
      id: number;
      /** The buffer's values, shared: the thread reduces them in place. */
      shared: SharedArrayBuffer;
      byteOffset: number;
      length: number;
      options: AllReduceOptions;
    }
  | { type: 'close'; id: number };

/** An error as it crosses threads. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  fields: Record<string, unknown>;
}

/** Answers from the thread. */
export type FromRingThread =
  | { type: 'ready'; address: string }
  | { type: 'fatal'; error: SerializedError }
  | { type: 'done'; id: number; result?: AllReduceResult }
  | { type: 'failed'; id: number; error: SerializedError };

const ERROR_CLASSES: Record<string, { prototype: object }> = {
  CollectiveError,
  CollectiveTimeoutError,
  CollectivePeerError,
  CollectiveAuthError,
  CollectiveConfigError,
  CollectiveClosedError,
};

/** `error` with its own fields, for postMessage. */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (value === undefined || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  }
  return { name: error.name, message: error.message, stack: error.stack, fields };
}

/** The error back as an instance of its class (a plain Error for classes not of this library). */
export function deserializeError(serialized: SerializedError): Error {
  const cls = ERROR_CLASSES[serialized.name];
  const error: Error = cls ? (Object.create(cls.prototype) as Error) : new Error(serialized.message);
  Object.assign(error, serialized.fields);
  Object.defineProperty(error, 'message', { value: serialized.message, writable: true, configurable: true });
  Object.defineProperty(error, 'name', { value: serialized.name, writable: true, configurable: true });
  if (serialized.stack)
    Object.defineProperty(error, 'stack', { value: serialized.stack, writable: true, configurable: true });
  return error;
}
