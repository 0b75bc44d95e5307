import * as grpc from '@grpc/grpc-js';
import { collectiveV1 } from '@llm-forge/proto';
import { decodeGradientChunk } from '../codec/chunk-codec';

/** Room for a chunk's header fields on top of its payload. */
const HEADER_SLACK_BYTES = 64 * 1024;

/**
 * grpc-js channel (client) options of the connection to the right-hand neighbour:
 * - `grpc.max_send_message_length` / `grpc.max_receive_message_length`: one chunk plus header
 *   room, so a misconfigured peer sending huge messages is refused instead of buffered.
 * - `grpc-node.flow_control_window` (16 MiB): the client's HTTP/2 connection and stream receive
 *   windows (default 64 KiB), so a high-latency link is not throttled to 64 KiB per round trip.
 *   The gradient data itself flows client → server, where grpc-js 1.14 offers no window option;
 *   on loopback raising windows measured no gain (framing and copies dominate, not RTT).
 * - `grpc.enable_retries` = 0: transparent retries make grpc-js keep copies of sent messages of
 *   streaming calls; a failed step is retried by the trainer with a new attempt instead.
 * - `grpc.per_rpc_retry_buffer_size` = 0: otherwise grpc-js reports a message under 1 MiB written
 *   as soon as it is queued; the ring reuses a chunk's buffer once it is reported written, and a
 *   message framed in place (`frameInPlace`) is that buffer, so the report must mean it.
 * - `grpc.keepalive_time_ms` / `grpc.keepalive_timeout_ms`: HTTP/2 pings every 5 min detect a
 *   peer whose host vanished without closing the TCP connection; generous, because a peer blocked
 *   in a long compute phase cannot answer a ping (a vanished peer mid-step is caught sooner by the
 *   operation timeout).
 * - `grpc.initial_reconnect_backoff_ms` / `grpc.max_reconnect_backoff_ms`: a restarted neighbour is
 *   reached again within a second, not after grpc-js' default backoff of up to 2 minutes.
 * - `grpc.use_local_subchannel_pool`: each ring owns its connection, so closing one ring never
 *   disturbs another in the same process (tests run several ranks in one process).
 */
export function collectiveChannelOptions(chunkBytes: number): grpc.ChannelOptions {
  return {
    'grpc.max_send_message_length': chunkBytes + HEADER_SLACK_BYTES,
    'grpc.max_receive_message_length': chunkBytes + HEADER_SLACK_BYTES,
    'grpc-node.flow_control_window': 16 * 2 ** 20,
    'grpc.enable_retries': 0,
    'grpc.per_rpc_retry_buffer_size': 0,
    'grpc.keepalive_time_ms': 300_000,
    'grpc.keepalive_timeout_ms': 120_000,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1_000,
    'grpc.use_local_subchannel_pool': 1,
  };
}

/**
 * grpc-js server options of a rank's collective server: the same message limits as the channel.
 * `grpc-node.max_session_memory` stays at grpc-js' default (unlimited): bounding it makes Node
 * refuse streams under load, and our own backpressure already bounds what is in flight.
 */
export function collectiveServerOptions(chunkBytes: number): grpc.ServerOptions {
  return {
    'grpc.max_send_message_length': chunkBytes + HEADER_SLACK_BYTES,
    'grpc.max_receive_message_length': chunkBytes + HEADER_SLACK_BYTES,
  };
}

/** Push's request serializer on the client: chunks arrive serialized already (see `ChunkEncoder`). */
const preEncoded = (message: Buffer): Buffer => message;

/**
 * The collective service as the client sees it: the generated definition, except that Push takes
 * chunks serialized by a `ChunkEncoder` (wire-identical to the generated encoder): the
 * sender encodes into buffers it reuses once gRPC has written them.
 */
export const collectiveClientDefinition = {
  ...collectiveV1.CollectiveServiceService,
  push: { ...collectiveV1.CollectiveServiceService.push, requestSerialize: preEncoded },
} as const;

/**
 * The collective service as the server sees it: the generated definition with a Push request
 * deserializer that leaves the payload in the received buffer; see {@link decodeGradientChunk}.
 */
export const collectiveServerDefinition = {
  ...collectiveV1.CollectiveServiceService,
  push: { ...collectiveV1.CollectiveServiceService.push, requestDeserialize: decodeGradientChunk },
} as const;

/** A client of {@link collectiveClientDefinition}: the generated client with Push sending serialized chunks. */
export interface CollectiveClient extends Omit<collectiveV1.CollectiveServiceClient, 'push'> {
  /** Opens the Push stream; write buffers from `ChunkEncoder.encode`. */
  push(
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: (error: grpc.ServiceError | null, response: collectiveV1.PushAck) => void,
  ): grpc.ClientWritableStream<Buffer>;
}

/** Client constructor of {@link collectiveClientDefinition}. */
export const CollectiveClient = grpc.makeGenericClientConstructor(
  collectiveClientDefinition,
  'llmforge.collective.v1.CollectiveService',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: Partial<grpc.ClientOptions>,
) => CollectiveClient;
