/**
 * Transport security of every gRPC channel of a cluster (the coordinator's control plane, the
 * workers' ring): mutual TLS from PEM files named by environment variables, or plaintext, which is
 * allowed only where the cluster secret every call carries cannot leave the machine — a loopback
 * address — unless the operator opts in explicitly.
 *
 * One set of variables serves every process (a Kubernetes Secret mounted as files):
 *   FORGE_TLS_CA     the CA that signed every member's certificate (peers are verified against it)
 *   FORGE_TLS_CERT   this process's certificate (served, and presented as a client)
 *   FORGE_TLS_KEY    its private key
 *   FORGE_TLS_SERVER_NAME  optional: the name every server certificate carries, checked instead of
 *                    the host dialled (ring peers are dialled by pod IP; one cluster certificate
 *                    names the cluster, not every IP)
 *   FORGE_ALLOW_INSECURE_GRPC=true  plaintext beyond loopback anyway (a trusted private network)
 */
import * as fs from 'fs';
import * as grpc from '@grpc/grpc-js';

/** The environment variables read by {@link transportSecurityFromEnv}. */
export const TLS_ENV = {
  ca: 'FORGE_TLS_CA',
  cert: 'FORGE_TLS_CERT',
  key: 'FORGE_TLS_KEY',
  serverName: 'FORGE_TLS_SERVER_NAME',
  allowInsecure: 'FORGE_ALLOW_INSECURE_GRPC',
} as const;

/** PEM contents of the cluster's TLS material. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** Name to verify server certificates against instead of the dialled host. */
  serverName?: string;
}

/** How this process's gRPC channels are secured; plain data (it crosses worker threads). */
export interface TransportSecurity {
  /** Mutual TLS, or undefined for plaintext. */
  tls?: TlsMaterial;
  /** Plaintext is accepted on non-loopback addresses (FORGE_ALLOW_INSECURE_GRPC). @defaultValue false */
  allowInsecure: boolean;
}

/** A transport setting that is missing, unreadable or unsafe; names the variable or address. */
export class TransportSecurityError extends Error {
  override readonly name = 'TransportSecurityError';
}

function flag(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

function readPem(variable: string, file: string): Buffer {
  try {
    const pem = fs.readFileSync(file);
    if (!pem.toString('utf8').includes('-----BEGIN ')) {
      throw new Error('not a PEM file (no "-----BEGIN" line)');
    }
    return pem;
  } catch (e) {
    throw new TransportSecurityError(
      `${variable}=${file} cannot be used: ${(e as Error).message} (give the path of a readable PEM file; in Kubernetes, the mounted Secret's file)`,
    );
  }
}

/**
 * Reads the transport settings from `env`: TLS when FORGE_TLS_CA, FORGE_TLS_CERT and FORGE_TLS_KEY
 * are all set (a TransportSecurityError naming the missing ones when only some are, or naming the
 * file that cannot be read), plaintext when none is.
 */
export function transportSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): TransportSecurity {
  const allowInsecure = flag(env[TLS_ENV.allowInsecure]);
  const files = { ca: env[TLS_ENV.ca], cert: env[TLS_ENV.cert], key: env[TLS_ENV.key] };
  const given = (Object.keys(files) as Array<keyof typeof files>).filter((k) => files[k]);
  if (given.length === 0) return { allowInsecure };
  if (given.length < 3) {
    const missing = (Object.keys(files) as Array<keyof typeof files>)
      .filter((k) => !files[k])
      .map((k) => TLS_ENV[k]);
    throw new TransportSecurityError(
      `TLS needs ${TLS_ENV.ca}, ${TLS_ENV.cert} and ${TLS_ENV.key} together; ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`,
    );
  }
  const serverName = env[TLS_ENV.serverName] || undefined;
  return {
    allowInsecure,
    tls: {
      ca: readPem(TLS_ENV.ca, files.ca as string),
      cert: readPem(TLS_ENV.cert, files.cert as string),
      key: readPem(TLS_ENV.key, files.key as string),
      ...(serverName ? { serverName } : {}),
    },
  };
}

/** The host of a gRPC address: `host:port`, `[v6]:port`, `dns:///host:port`, or a bare host. */
export function hostOf(address: string): string {
  // grpc-js target schemes (`dns:///h:p`, `dns://authority/h:p`, `ipv4:h:p`); `h:p` has none.
  const target = address.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/i, '');
  const bracketed = /^\[([^\]]+)\]/.exec(target);
  if (bracketed) return bracketed[1];
  const colons = target.split(':').length - 1;
  if (colons > 1) return target; // a bare IPv6 address
  return target.split(':')[0];
}

/** Whether `host` only reaches this machine: `localhost`, 127.0.0.0/8 or ::1 (not 0.0.0.0). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1';
}

/**
 * Throws a TransportSecurityError when the cluster secret would cross `address` in clear text: no
 * TLS, an address beyond loopback, and no explicit FORGE_ALLOW_INSECURE_GRPC. `what` names the
 * channel in the message ("the control plane's listening address FORGE_GRPC_HOST").
 */
export function assertSecretStaysPrivate(security: TransportSecurity, address: string, what: string): void {
  if (security.tls || security.allowInsecure || isLoopbackHost(hostOf(address))) return;
  throw new TransportSecurityError(
    `refusing to send the cluster secret in clear text: ${what} is ${address}, not a loopback address, and TLS is off. ` +
      `Set ${TLS_ENV.ca}, ${TLS_ENV.cert} and ${TLS_ENV.key} (PEM files) on every machine, ` +
      `or bind to 127.0.0.1 for a one-machine cluster, or set ${TLS_ENV.allowInsecure}=true to accept plaintext on a network you trust`,
  );
}

/** Server credentials: mutual TLS (clients must present a certificate of the CA) or plaintext. */
export function serverCredentials(security: TransportSecurity): grpc.ServerCredentials {
  const { tls } = security;
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const { ca, cert, key } = buffers(tls);
  return grpc.ServerCredentials.createSsl(ca, [{ private_key: key, cert_chain: cert }], true);
}

/** Channel credentials: TLS presenting this process's certificate, or plaintext. */
export function channelCredentials(security: TransportSecurity): grpc.ChannelCredentials {
  const { tls } = security;
  if (!tls) return grpc.credentials.createInsecure();
  const { ca, cert, key } = buffers(tls);
  return grpc.credentials.createSsl(ca, key, cert);
}

/** The PEMs as Buffers: grpc-js wants Buffers, and a worker thread's copy arrives as Uint8Arrays. */
function buffers(tls: TlsMaterial): { ca: Buffer; cert: Buffer; key: Buffer } {
  return { ca: Buffer.from(tls.ca), cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) };
}

/** Channel options a TLS channel needs (the server name override), merged over `options`. */
export function channelOptions(
  security: TransportSecurity,
  options: grpc.ChannelOptions = {},
): grpc.ChannelOptions {
  const name = security.tls?.serverName;
  return name
    ? { ...options, 'grpc.ssl_target_name_override': name, 'grpc.default_authority': name }
    : options;
}
