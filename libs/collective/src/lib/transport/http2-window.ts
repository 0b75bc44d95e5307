import type * as http2 from 'http2';

/** HTTP/2 receive window of each incoming Push stream: 4 chunks of 4 MiB in flight (32 MiB measured no better). */
export const SERVER_STREAM_WINDOW_BYTES = 16 * 2 ** 20;
/** HTTP/2 receive window of a whole server connection. */
export const SERVER_CONNECTION_WINDOW_BYTES = 64 * 2 ** 20;

const raised = new WeakSet<http2.Http2Session>();

/** The HTTP/2 session under a grpc-js 1.14 server call, if that internal shape is there. */
function sessionOf(call: object): http2.Http2Session | undefined {
  const inner = (call as { call?: { stream?: { session?: http2.Http2Session } } }).call;
  const session = inner?.stream?.session;
  return session && typeof session.settings === 'function' && typeof session.setLocalWindowSize === 'function'
    ? session
    : undefined;
}

/**
 * Raises the server's HTTP/2 receive windows (64 KiB by default) on the connection an incoming
 * call arrived on, once per connection. Gradient chunks flow client → server, so it is the
 * server's window that throttles them: with 64 KiB the sender stalls whenever the receiver's
 * event loop is busy reducing a chunk (A/B on a loaded 2-core box: 2-rank busbw +10%).
 * grpc-js 1.14 has no server option for it (`grpc-node.flow_control_window` is client-only), so
 * this reaches the `Http2Session` through grpc-js internals; when they differ it does nothing and
 * the defaults apply. A SETTINGS change also applies to streams already open (RFC 9113 §6.9.2).
 */
export function raiseServerReceiveWindow(call: object): void {
  const session = sessionOf(call);
  if (!session || raised.has(session) || session.destroyed) return;
  raised.add(session);
  try {
    session.setLocalWindowSize(SERVER_CONNECTION_WINDOW_BYTES);
    session.settings({ initialWindowSize: SERVER_STREAM_WINDOW_BYTES });
  } catch {
    // a closing session refuses settings; the call fails on its own
  }
}
