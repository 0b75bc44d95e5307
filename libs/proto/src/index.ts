/**
 * Wire contracts of LLM Forge: the TypeScript that ts-proto generates from `libs/proto/proto/`
 * (messages with encode/decode, grpc-js service definitions and clients), one namespace per
 * versioned proto package, plus the metadata keys the services share and the transport security
 * (TLS or loopback-only plaintext) of every channel.
 */
export * as collectiveV1 from './generated/llmforge/collective/v1/collective';
export * as coordinatorV1 from './generated/llmforge/coordinator/v1/coordinator';
export { METADATA_KEYS } from './lib/metadata/metadata-keys';
export {
  assertSecretStaysPrivate,
  channelCredentials,
  channelOptions,
  hostOf,
  isLoopbackHost,
  serverCredentials,
  TLS_ENV,
  TransportSecurityError,
  transportSecurityFromEnv,
} from './lib/transport/transport-security';
export type { TlsMaterial, TransportSecurity } from './lib/transport/transport-security';
