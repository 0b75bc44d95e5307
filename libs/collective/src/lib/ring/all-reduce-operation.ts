import * as grpc from '@grpc/grpc-js';
import { collectiveV1 } from '@llm-forge/proto';
import { ChunkEncoder, bytesPerElement, decodePayload, protoDType } from '../codec/chunk-codec';
import type { BufferPool } from '../codec/buffer-pool';
import { CollectiveAuthError } from '../errors/collective-auth-error';
import { CollectiveError, CollectiveErrorContext } from '../errors/collective-error';
import { CollectivePeerError } from '../errors/collective-peer-error';
import { CollectiveTimeoutError } from '../errors/collective-timeout-error';
import {
  BucketLayout,
  expectedReceiveElements,
  expectedSendElements,
  planBuckets,
  receiveSegment,
  segmentChunks,
  sendSegment,
} from '../layout/ring-layout';
import type { Bf16Decode, Bf16Round, DivideInPlace, SumInto, WireDType } from '../options/ring-options';
import type { CollectiveClient } from '../transport/grpc-options';
import { OperationKey, describeKey, operationMetadata } from '../transport/operation-key';

type GradientChunk = collectiveV1.GradientChunk;
type PushAck = collectiveV1.PushAck;
const { Phase } = collectiveV1;

/**
 * Chunks written to the right neighbour and not yet taken by the connection, at most. grpc-js hands
 * one message at a time to HTTP/2 and queues the rest, so a few keep the link busy; more would only
 * hold more encoded buffers (each one past the encoder's pool a fresh allocation).
 */
const MAX_CHUNKS_IN_FLIGHT = 3;

/** A neighbour: its rank and address. */
export interface PeerRef {
  /** Rank. */
  readonly rank: number;
  /** host:port of its collective server. */
  readonly address: string;
}

/** Everything one operation needs; built by RingAllReduce. */
export interface OperationSpec {
  readonly key: OperationKey;
  readonly rank: number;
  readonly worldSize: number;
  readonly buffer: Float32Array;
  readonly average: boolean;
  readonly wireDType: WireDType;
  readonly timeoutMs: number;
  readonly bucketElements: number;
  readonly chunkBytes: number;
  readonly secret: string;
  readonly left: PeerRef;
  readonly right: PeerRef;
  readonly client: CollectiveClient;
  /** Serializes outgoing chunks into reusable buffers (the ring's, shared by its operations). */
  readonly encoder: ChunkEncoder;
  /** The pool incoming chunks were assembled in: each chunk's buffer goes back once it is used. */
  readonly receivePool: BufferPool;
  /** target += source, element-wise (the reduction of reduce-scatter). */
  readonly sumInto: SumInto;
  /** values /= n, element-wise (the averaging of the segment this rank finishes). */
  readonly divideInPlace: DivideInPlace;
  /** Widens received bf16 payloads. */
  readonly bf16Decode: Bf16Decode;
  /** Rounds a finished segment to bf16, so the owner keeps exactly what it sends. */
  readonly bf16Round: Bf16Round;
}

/** The server side of the stream from the left neighbour. */
export interface IncomingStream {
  readonly call: grpc.ServerReadableStream<GradientChunk, PushAck>;
  readonly respond: grpc.sendUnaryData<PushAck>;
}

/** One chunk to send: which elements, and where they are in the schedule. */
interface SendItem {
  bucket: number;
  phase: collectiveV1.Phase;
  ringStep: number;
  segment: number;
  offset: number;
  count: number;
}

/**
 * One ring all-reduce of one buffer (see ring-layout.ts for the schedule). Event-driven: every
 * chunk received from the left is reduced (or copied) into the buffer and queued to go right at
 * the next ring step, so buckets, segments and chunks all pipeline. Settles `done` once every
 * expected element arrived and the right neighbour acknowledged everything we sent.
 */
export class AllReduceOperation {
  /** Resolves when the buffer holds the result; rejects with a {@link CollectiveError}. */
  readonly done: Promise<void>;
  /** Payload bytes written to the right neighbour so far. */
  bytesSent = 0;

  private readonly buckets: BucketLayout[];
  private readonly chunkElements: number;
  private readonly expectedElements: number;
  private readonly expectedSent: number;
  private readonly forwards: SendItem[] = [];
  private readonly initial: SendItem[] = [];
  private forwardHead = 0;
  private initialHead = 0;
  private receivedElements = 0;
  private sentElements = 0;
  private chunksReceived = 0;
  private bytesReceived = 0;
  private scratch: Float32Array = new Float32Array(0);
  private outgoing?: grpc.ClientWritableStream<Buffer>;
  private incoming?: IncomingStream;
  private incomingProblem?: string;
  private waitingForDrain = false;
  /** Chunks handed to grpc-js and not yet reported written. */
  private inFlight = 0;
  private outgoingEnded = false;
  private acked = false;
  private settled = false;
  private failure?: CollectiveError;
  private timer?: NodeJS.Timeout;
  private resolveDone!: () => void;
  private rejectDone!: (error: CollectiveError) => void;

  constructor(private readonly spec: OperationSpec) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined); // callers await `done`; never an unhandled rejection
    this.buckets = planBuckets(spec.buffer.length, spec.worldSize, spec.bucketElements);
    this.chunkElements = Math.max(1, Math.floor(spec.chunkBytes / bytesPerElement(spec.wireDType)));
    this.expectedElements = expectedReceiveElements(this.buckets, spec.rank, spec.worldSize);
    this.expectedSent = expectedSendElements(this.buckets, spec.rank, spec.worldSize);
  }

  /** The operation's identity. */
  get key(): OperationKey {
    return this.spec.key;
  }

  /** True once `done` settled. */
  get finished(): boolean {
    return this.settled;
  }

  /** Opens the stream to the right neighbour, starts the timeout and sends the first segments. */
  start(): void {
    const { spec } = this;
    this.timer = setTimeout(() => this.fail(this.timeoutError()), spec.timeoutMs);
    const deadline = Date.now() + spec.timeoutMs + 1_000; // our own timer fires first and says more
    this.outgoing = spec.client.push(
      operationMetadata(spec.key, spec.secret, spec.rank),
      { deadline },
      (err, ack) => (err ? this.onOutgoingError(err) : this.onAck(ack)),
    );
    this.outgoing.on('error', () => undefined); // reported through the callback
    for (const bucket of this.buckets) {
      const segment = bucket.segments[sendSegment('reduce-scatter', spec.rank, 0, spec.worldSize)];
      for (const [offset, count] of segmentChunks(segment, this.chunkElements)) {
        this.initial.push({
          bucket: bucket.id,
          phase: Phase.PHASE_REDUCE_SCATTER,
          ringStep: 0,
          segment: segment.index,
          offset,
          count,
        });
      }
    }
    this.pump();
  }

  /** Takes the stream from the left neighbour; false when one is attached already. */
  attachIncoming(stream: IncomingStream): boolean {
    if (this.incoming) return false;
    this.incoming = stream;
    if (this.failure) {
      this.respondFailure(stream);
      return true;
    }
    stream.call.on('data', (chunk: GradientChunk) => {
      this.onChunk(chunk);
      this.spec.receivePool.release(chunk.payload);
    });
    stream.call.on('end', () => {
      if (!this.failure)
        stream.respond(null, { chunksReceived: this.chunksReceived, bytesReceived: this.bytesReceived });
    });
    stream.call.on('error', (e: Error) => (this.incomingProblem = `its stream broke (${e.message})`));
    stream.call.on('cancelled', () => (this.incomingProblem = 'it cancelled its stream'));
    return true;
  }

  /** Aborts the operation (if still running) with `error`. */
  fail(error: CollectiveError): void {
    if (this.settled) return;
    this.settled = true;
    this.failure = error;
    clearTimeout(this.timer);
    this.outgoing?.cancel();
    if (this.incoming) this.respondFailure(this.incoming);
    this.rejectDone(error);
  }

  private respondFailure(stream: IncomingStream): void {
    const code =
      this.failure instanceof CollectiveTimeoutError ? grpc.status.DEADLINE_EXCEEDED : grpc.status.ABORTED;
    stream.respond({
      code,
      details: `rank ${this.spec.rank} aborted ${describeKey(this.spec.key)}: ${this.failure?.summary}`,
    });
  }

  private context(peer: PeerRef): CollectiveErrorContext {
    return {
      step: this.spec.key.step,
      attempt: this.spec.key.attempt,
      peerRank: peer.rank,
      peerAddress: peer.address,
    };
  }

  private timeoutError(): CollectiveTimeoutError {
    const { spec } = this;
    if (this.receivedElements < this.expectedElements) {
      const detail = this.incoming
        ? `received ${this.receivedElements} of ${this.expectedElements} elements from it${this.incomingProblem ? `; ${this.incomingProblem}` : ''}`
        : 'it never opened its stream to us';
      return new CollectiveTimeoutError({ ...this.context(spec.left), timeoutMs: spec.timeoutMs }, detail);
    }
    return new CollectiveTimeoutError(
      { ...this.context(spec.right), timeoutMs: spec.timeoutMs },
      `it has not acknowledged the ${this.sentElements} elements we sent`,
    );
  }

  private onOutgoingError(err: grpc.ServiceError): void {
    if (this.settled) return;
    const context = this.context(this.spec.right);
    if (err.code === grpc.status.UNAUTHENTICATED)
      return this.fail(new CollectiveAuthError(context, err.details));
    if (err.code === grpc.status.DEADLINE_EXCEEDED) {
      return this.fail(
        new CollectiveTimeoutError({ ...context, timeoutMs: this.spec.timeoutMs }, err.details, err),
      );
    }
    this.fail(
      new CollectivePeerError(
        { ...context, code: err.code },
        `${grpc.status[err.code]}: ${err.details}`,
        err,
      ),
    );
  }

  private onAck(ack: PushAck | undefined): void {
    this.acked = true;
    if (ack && ack.chunksReceived === 0 && this.sentElements > 0) {
      return this.fail(
        new CollectivePeerError(this.context(this.spec.right), 'acknowledged none of our chunks'),
      );
    }
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.settled || !this.acked || this.receivedElements !== this.expectedElements) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolveDone();
  }

  /**
   * Writes queued chunks while fewer than {@link MAX_CHUNKS_IN_FLIGHT} are unwritten and grpc-js
   * does not ask us to wait for 'drain'; half-closes when all are out.
   */
  private pump(): void {
    const out = this.outgoing;
    if (!out || this.settled || this.waitingForDrain) return;
    while (this.inFlight < MAX_CHUNKS_IN_FLIGHT) {
      const item =
        this.forwardHead < this.forwards.length
          ? this.forwards[this.forwardHead++]
          : this.initial[this.initialHead++];
      if (!item) break;
      const { spec } = this;
      const message = spec.encoder.encode(
        {
          jobId: spec.key.jobId,
          step: spec.key.step,
          attempt: spec.key.attempt,
          bucketId: item.bucket,
          phase: item.phase,
          ringStep: item.ringStep,
          segmentIndex: item.segment,
          offset: item.offset,
          dtype: protoDType(spec.wireDType),
        },
        spec.buffer.subarray(item.offset, item.offset + item.count),
        spec.wireDType,
      );
      this.sentElements += item.count;
      this.bytesSent += item.count * bytesPerElement(spec.wireDType);
      this.inFlight++;
      const writable = out.write(message, (err?: Error | null) => this.onWritten(message, err));
      if (!writable) {
        this.waitingForDrain = true;
        out.once('drain', () => {
          this.waitingForDrain = false;
          this.pump();
        });
        return;
      }
    }
    if (this.forwardHead === this.forwards.length) this.forwards.length = this.forwardHead = 0;
    if (!this.outgoingEnded && this.sentElements === this.expectedSent) {
      this.outgoingEnded = true;
      out.end();
    }
  }

  /**
   * A chunk is reported written once the connection has taken its bytes (the frame is this very
   * buffer: see frameInPlace), so the buffer can be reused. After an error grpc-js may still hold
   * it, so it is left to the garbage collector instead.
   */
  private onWritten(message: Buffer, err?: Error | null): void {
    this.inFlight--;
    if (err) return;
    this.spec.encoder.release(message);
    this.pump();
  }

  private protocolError(detail: string): void {
    this.fail(new CollectivePeerError(this.context(this.spec.left), `sent an unexpected chunk: ${detail}`));
  }

  /** Reduces or copies one chunk from the left into the buffer and queues its forward. */
  private onChunk(chunk: GradientChunk): void {
    if (this.settled) return;
    const { spec } = this;
    const n = spec.worldSize;
    const { key } = spec;
    if (chunk.jobId !== key.jobId || chunk.step !== key.step || chunk.attempt !== key.attempt) {
      return this.protocolError(
        `job ${chunk.jobId} ${describeKey(chunk)} inside the stream of ${describeKey(key)}`,
      );
    }
    if (chunk.dtype !== protoDType(spec.wireDType))
      return this.protocolError(`dtype ${chunk.dtype}, expected ${spec.wireDType}`);
    const bucket = this.buckets[chunk.bucketId];
    const phaseName =
      chunk.phase === Phase.PHASE_REDUCE_SCATTER
        ? 'reduce-scatter'
        : chunk.phase === Phase.PHASE_ALL_GATHER
          ? 'all-gather'
          : undefined;
    if (
      !bucket ||
      !phaseName ||
      chunk.ringStep >= n - 1 ||
      chunk.segmentIndex !== receiveSegment(phaseName, spec.rank, chunk.ringStep, n)
    ) {
      return this.protocolError(
        `bucket ${chunk.bucketId} phase ${chunk.phase} ring step ${chunk.ringStep} segment ${chunk.segmentIndex}`,
      );
    }
    const segment = bucket.segments[chunk.segmentIndex];
    const count = chunk.payload.length / bytesPerElement(spec.wireDType);
    const segmentEnd = segment.start + segment.length;
    if (
      chunk.offset < segment.start ||
      (chunk.offset - segment.start) % this.chunkElements !== 0 ||
      count !== Math.min(this.chunkElements, segmentEnd - chunk.offset)
    ) {
      return this.protocolError(
        `offset ${chunk.offset} with ${count} elements in segment [${segment.start}, ${segmentEnd})`,
      );
    }
    const decoded = decodePayload(chunk.payload, spec.wireDType, this.scratch, spec.bf16Decode);
    this.scratch = decoded.scratch;
    const values = decoded.values;
    const target = spec.buffer.subarray(chunk.offset, chunk.offset + count);
    const item: SendItem = {
      bucket: bucket.id,
      phase: chunk.phase,
      ringStep: chunk.ringStep + 1,
      segment: chunk.segmentIndex,
      offset: chunk.offset,
      count,
    };
    if (chunk.phase === Phase.PHASE_REDUCE_SCATTER) {
      spec.sumInto(target, values); // f32 add: left partial joins ours in ring order
      if (chunk.ringStep === n - 2) {
        // This rank owns the segment now: finish it once, then every rank gets these exact bytes.
        if (spec.average) spec.divideInPlace(target, n);
        if (spec.wireDType === 'bf16') spec.bf16Round(target);
        this.forwards.push({
          ...item,
          phase: Phase.PHASE_ALL_GATHER,
          ringStep: 0,
          segment: sendSegment('all-gather', spec.rank, 0, n),
        });
      } else {
        this.forwards.push(item);
      }
    } else {
      target.set(values);
      if (chunk.ringStep < n - 2) this.forwards.push(item);
    }
    this.chunksReceived++;
    this.bytesReceived += chunk.payload.length;
    this.receivedElements += count;
    this.pump();
    this.maybeFinish();
  }
}
