import * as crypto from 'crypto';
import * as os from 'os';
import * as grpc from '@grpc/grpc-js';
import {
  assertSecretStaysPrivate,
  channelCredentials,
  channelOptions,
  collectiveV1,
  METADATA_KEYS,
  serverCredentials,
  TLS_ENV,
  type TransportSecurity,
  TransportSecurityError,
} from '@llm-forge/proto';
import { CollectiveAuthError } from '../errors/collective-auth-error';
import { CollectiveClosedError } from '../errors/collective-closed-error';
import { CollectiveConfigError } from '../errors/collective-config-error';
import { CollectivePeerError } from '../errors/collective-peer-error';
import { CollectiveTimeoutError } from '../errors/collective-timeout-error';
import { ChunkEncoder } from '../codec/chunk-codec';
import { mod } from '../layout/ring-layout';
import {
  AllReduceOptions,
  RingAllReduceOptions,
  ResolvedRingOptions,
  resolveAllReduceOptions,
  resolveRingOptions,
} from '../options/ring-options';
import {
  CollectiveClient,
  collectiveChannelOptions,
  collectiveServerDefinition,
  collectiveServerOptions,
} from '../transport/grpc-options';
import {
  OperationKey,
  compareKeys,
  describeKey,
  fromRankOf,
  keyFromMetadata,
} from '../transport/operation-key';
import { raiseServerReceiveWindow } from '../transport/http2-window';
import { installInPlaceFraming } from '../transport/in-place-framing';
import { adoptPooledDecoder } from '../transport/pooled-message-decoder';
import { BufferPool } from '../codec/buffer-pool';
import { AllReduceOperation, IncomingStream, PeerRef } from './all-reduce-operation';
import type { AllReduceResult, AllReduceRing } from './all-reduce-ring';

/** An incoming stream for an operation this rank has not started yet. */
interface PendingStream extends IncomingStream {
  readonly key: OperationKey;
}

/** Pause between pings while the right neighbour has not yet joined the ring generation. */
const CONNECT_RETRY_MS = 100;

/** Incoming streams held for operations not started yet, at most; more are refused. */
const MAX_PENDING_STREAMS = 4;

function digest(secret: string): Buffer {
  return crypto.createHash('sha256').update(secret).digest();
}

/**
 * Ring all-reduce of flat Float32Array gradients over gRPC.
 *
 * Every rank runs a collective server and streams to its right-hand neighbour; `allReduce` sums
 * (or averages) a buffer across all ranks in place: reduce-scatter then all-gather, N-1 ring
 * steps each, over buckets of `bucketBytes` split into chunks of `chunkBytes` that pipeline.
 * Each segment is reduced by one owner in a fixed order and then copied, so every rank ends with
 * bit-identical bytes. World size 1 is the ordinary case and does nothing.
 *
 * ```ts
 * const ring = await RingAllReduce.listen({ rank, worldSize, secret });
 * await ring.connect(addressesInRankOrder);       // after every rank listened
 * await ring.allReduce(grads, { step, average: true });
 * await ring.close();
 * ```
 */
export class RingAllReduce implements AllReduceRing {
  private options: ResolvedRingOptions;
  private readonly secretDigest: Buffer;
  private readonly server: grpc.Server;
  private boundPort = 0;
  private client?: CollectiveClient;
  private readonly encoder: ChunkEncoder;
  /** Where incoming chunks are assembled; each is given back once reduced. */
  private readonly receivePool = new BufferPool();
  private peers: string[] = [];
  private current?: AllReduceOperation;
  /** Key of the last operation called (calls must come in increasing key order). */
  private lastKey?: OperationKey;
  /** Key of the last operation started (streams for later ones are held until theirs starts). */
  private startedKey?: OperationKey;
  /** Operations run one at a time, in the order they were called. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Bumped by reconfigure: operations queued before it fail instead of running in the new ring. */
  private generation = 0;
  private pending: PendingStream[] = [];
  private closed = false;

  private constructor(options: RingAllReduceOptions) {
    if (os.endianness() !== 'LE') {
      throw new CollectiveConfigError(
        'host',
        'is big-endian',
        'the collective wire format is little-endian; run on x86-64 or arm64',
      );
    }
    this.options = resolveRingOptions(options);
    this.encoder = new ChunkEncoder({ bf16Encode: this.options.bf16Encode });
    installInPlaceFraming(); // once per process: our chunks then go out without grpc-js' framing copy
    this.secretDigest = digest(this.options.secret);
    this.server = new grpc.Server(collectiveServerOptions(this.options.chunkBytes));
    const impl: collectiveV1.CollectiveServiceServer = {
      push: (call, respond) => {
        raiseServerReceiveWindow(call);
        adoptPooledDecoder(call, this.receivePool);
        this.onPush({ call, respond });
      },
      ping: (call, respond) => {
        if (!this.authorized(call.metadata)) return respond(this.unauthenticated(call.metadata));
        respond(null, { rank: this.options.rank, worldSize: this.options.worldSize });
      },
    };
    this.server.addService(collectiveServerDefinition, impl);
  }

  /** Creates a rank and binds its collective server (port 0 picks a free port). */
  static async listen(options: RingAllReduceOptions): Promise<RingAllReduce> {
    const ring = new RingAllReduce(options);
    const { host, port, transport } = ring.options;
    assertRingSecretPrivate(transport, `${host}:${port}`, 'host (the address this rank listens on)');
    ring.boundPort = await new Promise<number>((resolve, reject) =>
      ring.server.bindAsync(`${host}:${port}`, serverCredentials(transport), (err, bound) =>
        err
          ? reject(
              new CollectiveConfigError(
                'port',
                `${port} on ${host} could not be bound: ${err.message}`,
                'pick a free port or 0',
              ),
            )
          : resolve(bound),
      ),
    );
    return ring;
  }

  /** This rank. */
  get rank(): number {
    return this.options.rank;
  }

  /** Number of ranks. */
  get worldSize(): number {
    return this.options.worldSize;
  }

  /** How long an operation waits for its peers unless it says otherwise (milliseconds). */
  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** host:port other ranks reach this rank's collective server at. */
  get address(): string {
    return `${this.options.host}:${this.boundPort}`;
  }

  /**
   * Connects to the right-hand neighbour `addresses[(rank + 1) % worldSize]` and checks that it is
   * up, accepts our secret and holds the expected place (waiting, up to `timeoutMs`, for it to
   * reconfigure into this ring generation). `addresses` lists every rank's {@link address} in rank order.
   */
  async connect(addresses: readonly string[], timeoutMs = this.options.timeoutMs): Promise<void> {
    const { rank, worldSize } = this.options;
    if (addresses.length !== worldSize) {
      throw new CollectiveConfigError(
        'addresses',
        `has ${addresses.length} entries for worldSize ${worldSize}`,
        'pass one address per rank, in rank order',
      );
    }
    if (this.closed) throw new CollectiveClosedError('connect');
    this.peers = [...addresses];
    if (worldSize === 1) return;
    const right = this.peer(rank + 1);
    const { transport } = this.options;
    assertRingSecretPrivate(transport, right.address, `the address of rank ${right.rank}`);
    this.client?.close();
    this.client = new CollectiveClient(
      right.address,
      channelCredentials(transport),
      channelOptions(transport, collectiveChannelOptions(this.options.chunkBytes)),
    );
    const client = this.client;
    const deadline = Date.now() + timeoutMs;
    const md = new grpc.Metadata();
    md.set(METADATA_KEYS.secret, this.options.secret);
    md.set(METADATA_KEYS.fromRank, String(rank));
    const context = { peerRank: right.rank, peerAddress: right.address };
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(deadline, (err) =>
        err
          ? reject(new CollectiveTimeoutError({ ...context, timeoutMs }, `could not connect: ${err.message}`))
          : resolve(),
      ),
    );
    // The neighbour may not have joined this ring generation yet (it reconfigures when its own job
    // starts, which can be seconds later): ask again until it has or the deadline passes.
    for (;;) {
      const pong = await new Promise<collectiveV1.PingResponse>((resolve, reject) =>
        client.ping({ fromRank: rank }, md, { deadline }, (err, res) => {
          if (!err) return resolve(res);
          if (err.code === grpc.status.UNAUTHENTICATED)
            return reject(new CollectiveAuthError(context, err.details));
          reject(new CollectivePeerError({ ...context, code: err.code }, `ping failed: ${err.details}`, err));
        }),
      );
      if (pong.rank === right.rank && pong.worldSize === worldSize) return;
      if (Date.now() + CONNECT_RETRY_MS >= deadline || this.closed) {
        throw new CollectiveConfigError(
          'addresses',
          `entry ${right.rank} (${right.address}) is rank ${pong.rank} of ${pong.worldSize}, expected rank ${right.rank} of ${worldSize} (still after ${timeoutMs} ms)`,
          'list the addresses in rank order and give every rank the same worldSize',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
    }
  }

  /**
   * Gives this rank a new place (rank, world size, run) for the next ring generation while keeping
   * its server, port and address: a long-lived worker registers one collective address and joins
   * ring after ring. Aborts a running operation, refuses held streams, drops the connection to the
   * old right neighbour and forgets the last operation key (a new generation may restart from an
   * earlier step, e.g. after resuming from a checkpoint). Call {@link connect} afterwards.
   */
  reconfigure(place: { rank: number; worldSize: number; jobId?: string }): void {
    if (this.closed) throw new CollectiveClosedError('reconfigure');
    const next = resolveRingOptions({ ...this.options, ...place, port: this.boundPort });
    this.current?.fail(new CollectiveClosedError('all-reduce (ring reconfigured)', this.current.key));
    this.current = undefined;
    for (const p of this.pending)
      p.respond({ code: grpc.status.UNAVAILABLE, details: `rank ${this.options.rank} joined a new ring` });
    this.pending = [];
    this.client?.close();
    this.client = undefined;
    this.peers = [];
    this.lastKey = undefined;
    this.startedKey = undefined;
    this.generation++;
    this.options = next;
  }

  /**
   * Sums `buffer` across all ranks in place (or averages it with `average: true`). Every rank
   * must call it with the same length, step, attempt and options. Calls may overlap: they are
   * queued and run one at a time in the order they were made (e.g. gradient buckets handed over
   * while backward still runs), so their keys must increase in that order. Rejects with a
   * {@link CollectiveTimeoutError}, {@link CollectivePeerError} or {@link CollectiveAuthError}
   * within the timeout when a peer fails; retry with a larger `attempt` on every rank.
   */
  allReduce(buffer: Float32Array, options: AllReduceOptions): Promise<AllReduceResult> {
    const called = performance.now();
    const opts = resolveAllReduceOptions(options, this.options);
    const key: OperationKey = { jobId: this.options.jobId, step: opts.step, attempt: opts.attempt };
    if (this.closed)
      return Promise.reject(new CollectiveClosedError(`all-reduce of ${describeKey(key)}`, key));
    if (this.lastKey && compareKeys(key, this.lastKey) <= 0) {
      return Promise.reject(
        new CollectiveConfigError(
          'step',
          `${describeKey(key)} does not come after ${describeKey(this.lastKey)}`,
          'use a new step, or the same step with attempt + 1 for a retry',
        ),
      );
    }
    this.lastKey = key;
    const generation = this.generation;
    const turn = this.queue.then(() => this.run(buffer, key, opts, generation, called));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Runs one queued operation; `elapsedMs` counts from the call, queueing included. */
  private async run(
    buffer: Float32Array,
    key: OperationKey,
    opts: ReturnType<typeof resolveAllReduceOptions>,
    generation: number,
    called: number,
  ): Promise<AllReduceResult> {
    if (this.closed || generation !== this.generation) {
      throw new CollectiveClosedError(`all-reduce of ${describeKey(key)} (ring closed or reconfigured)`, key);
    }
    this.startedKey = key;
    if (this.options.worldSize === 1 || buffer.length === 0)
      return { elapsedMs: performance.now() - called, bytesSent: 0 };
    if (!this.client) throw new CollectiveClosedError(`all-reduce of ${describeKey(key)}`, key);
    const op = new AllReduceOperation({
      key,
      rank: this.options.rank,
      worldSize: this.options.worldSize,
      buffer,
      average: opts.average,
      wireDType: opts.wireDType,
      timeoutMs: opts.timeoutMs,
      bucketElements: Math.max(1, Math.floor(this.options.bucketBytes / 4)),
      chunkBytes: this.options.chunkBytes,
      secret: this.options.secret,
      left: this.peer(this.options.rank - 1),
      right: this.peer(this.options.rank + 1),
      client: this.client,
      encoder: this.encoder,
      receivePool: this.receivePool,
      sumInto: this.options.sumInto,
      divideInPlace: this.options.divideInPlace,
      bf16Decode: this.options.bf16Decode,
      bf16Round: this.options.bf16Round,
    });
    this.current = op;
    this.adoptPending(op);
    op.start();
    await op.done;
    return { elapsedMs: performance.now() - called, bytesSent: op.bytesSent };
  }

  /** Aborts a running operation, refuses held streams, and shuts the server and client down. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.current?.fail(new CollectiveClosedError('all-reduce', this.current.key));
    for (const p of this.pending)
      p.respond({ code: grpc.status.UNAVAILABLE, details: `rank ${this.options.rank} is closing` });
    this.pending = [];
    this.client?.close();
    this.server.forceShutdown();
  }

  private peer(rank: number): PeerRef {
    const r = mod(rank, this.options.worldSize);
    return { rank: r, address: this.peers[r] ?? '?' };
  }

  private authorized(md: grpc.Metadata): boolean {
    const value = md.get(METADATA_KEYS.secret)[0];
    return typeof value === 'string' && crypto.timingSafeEqual(digest(value), this.secretDigest);
  }

  private unauthenticated(md: grpc.Metadata): Partial<grpc.StatusObject> {
    const missing = md.get(METADATA_KEYS.secret).length === 0;
    return {
      code: grpc.status.UNAUTHENTICATED,
      details: `rank ${this.options.rank} refused rank ${fromRankOf(md)}: ${missing ? 'no shared secret in metadata' : 'wrong shared secret'}`,
    };
  }

  /** Routes a Push stream to the running operation, holds it for a later one, or refuses it. */
  private onPush(stream: IncomingStream): void {
    const { call, respond } = stream;
    if (!this.authorized(call.metadata)) return respond(this.unauthenticated(call.metadata));
    const key = keyFromMetadata(call.metadata);
    if (!key)
      return respond({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'missing or malformed operation metadata',
      });
    if (key.jobId !== this.options.jobId) {
      return respond({
        code: grpc.status.FAILED_PRECONDITION,
        details: `rank ${this.options.rank} is in job '${this.options.jobId}', not '${key.jobId}'`,
      });
    }
    const order = this.startedKey ? compareKeys(key, this.startedKey) : 1;
    if (order === 0 && this.current && compareKeys(this.current.key, key) === 0 && !this.current.finished) {
      if (!this.current.attachIncoming(stream))
        respond({
          code: grpc.status.ALREADY_EXISTS,
          details: `a stream for ${describeKey(key)} is attached already`,
        });
      return;
    }
    if (order <= 0) {
      const why =
        order === 0
          ? `rank ${this.options.rank} already ${this.current?.finished ? 'finished or aborted' : 'started'} it`
          : `rank ${this.options.rank} is at ${describeKey(this.startedKey ?? key)}`;
      return respond({ code: grpc.status.ABORTED, details: `stale ${describeKey(key)}: ${why}` });
    }
    if (this.pending.length >= MAX_PENDING_STREAMS) {
      return respond({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `rank ${this.options.rank} holds ${MAX_PENDING_STREAMS} early streams already`,
      });
    }
    // The left neighbour started an operation we have not: hold the stream unread (HTTP/2 flow
    // control stops the sender) until allReduce() of that key starts here.
    const held: PendingStream = { ...stream, key };
    this.pending.push(held);
    call.on('cancelled', () => (this.pending = this.pending.filter((p) => p !== held)));
  }

  private adoptPending(op: AllReduceOperation): void {
    const keep: PendingStream[] = [];
    for (const p of this.pending) {
      const order = compareKeys(p.key, op.key);
      if (order === 0) op.attachIncoming(p);
      else if (order < 0)
        p.respond({
          code: grpc.status.ABORTED,
          details: `stale ${describeKey(p.key)}: rank ${this.options.rank} started ${describeKey(op.key)}`,
        });
      else keep.push(p);
    }
    this.pending = keep;
  }
}

/**
 * A CollectiveConfigError (field `transport`) when the secret would cross `address` in clear text:
 * see @llm-forge/proto's assertSecretStaysPrivate.
 */
function assertRingSecretPrivate(transport: TransportSecurity, address: string, what: string): void {
  try {
    assertSecretStaysPrivate(transport, address, what);
  } catch (error) {
    if (!(error instanceof TransportSecurityError)) throw error;
    throw new CollectiveConfigError(
      'transport',
      `is plaintext and ${what} is ${address}, beyond loopback: the cluster secret would cross the network in clear text`,
      `set ${TLS_ENV.ca}, ${TLS_ENV.cert} and ${TLS_ENV.key} on every worker, or ${TLS_ENV.allowInsecure}=true on a network you trust`,
    );
  }
}
