/**
 * Collective communication between training workers: ring all-reduce of flat Float32Array
 * gradients over gRPC (`RingAllReduce`), bf16 helpers,
 * and the typed errors operations reject with.
 */
export { RingAllReduce } from './lib/ring/ring-all-reduce';
export type { AllReduceResult, AllReduceRing } from './lib/ring/all-reduce-ring';
export { ThreadedRingAllReduce, type ThreadedRingOptions } from './lib/thread/threaded-ring-all-reduce';
export type { KernelExport, KernelExports } from './lib/thread/ring-thread-protocol';
export {
  RING_DEFAULTS,
  sumIntoJs,
  divideInPlaceJs,
  type Bf16Decode,
  type Bf16Encode,
  type Bf16Round,
  type DivideInPlace,
  type SumInto,
  type AllReduceOptions,
  type RingAllReduceOptions,
  type WireDType,
} from './lib/options/ring-options';
export { bf16ToF32, f32ToBf16, roundToBf16InPlace } from './lib/codec/bf16';
export { planBuckets, type BucketLayout, type SegmentLayout } from './lib/layout/ring-layout';
export { collectiveChannelOptions, collectiveServerOptions } from './lib/transport/grpc-options';
export { CollectiveError, type CollectiveErrorContext } from './lib/errors/collective-error';
export { CollectiveTimeoutError } from './lib/errors/collective-timeout-error';
export { CollectivePeerError } from './lib/errors/collective-peer-error';
export { CollectiveAuthError } from './lib/errors/collective-auth-error';
export { CollectiveConfigError } from './lib/errors/collective-config-error';
export { CollectiveClosedError } from './lib/errors/collective-closed-error';
