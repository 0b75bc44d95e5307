/** The worker's side of the coordinator.v1 control plane: register and heartbeat over gRPC. */
import * as grpc from '@grpc/grpc-js';
import {
  assertSecretStaysPrivate,
  channelCredentials,
  channelOptions,
  coordinatorV1,
  METADATA_KEYS,
  type TransportSecurity,
  transportSecurityFromEnv,
} from '@llm-forge/proto';

/** Deadline of one control-plane call. */
const CALL_TIMEOUT_MS = 5000;

/** A promise-based client of the coordinator's CoordinatorService. */
export class CoordinatorClient {
  private readonly client: coordinatorV1.CoordinatorServiceClient;
  private readonly metadata = new grpc.Metadata();

  /**
   * A client of the coordinator at `address`: TLS when FORGE_TLS_* are set (`security`), else
   * plaintext, which throws a TransportSecurityError for a non-loopback address unless
   * FORGE_ALLOW_INSECURE_GRPC=true — every call carries the cluster secret.
   */
  constructor(address: string, secret: string, security: TransportSecurity = transportSecurityFromEnv()) {
    assertSecretStaysPrivate(security, address, 'FORGE_COORDINATOR_URL');
    this.client = new coordinatorV1.CoordinatorServiceClient(
      address,
      channelCredentials(security),
      channelOptions(security),
    );
    this.metadata.set(METADATA_KEYS.secret, secret);
  }

  /** Announces this worker; the answer carries the session id and heartbeat interval. */
  register(request: coordinatorV1.RegisterWorkerRequest): Promise<coordinatorV1.RegisterWorkerResponse> {
    return new Promise((resolve, reject) =>
      this.client.registerWorker(request, this.metadata, { deadline: deadline() }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  }

  /** Keeps the registration alive. NOT_FOUND means the coordinator forgot the session: register again. */
  heartbeat(request: coordinatorV1.HeartbeatRequest): Promise<coordinatorV1.HeartbeatResponse> {
    return new Promise((resolve, reject) =>
      this.client.heartbeat(request, this.metadata, { deadline: deadline() }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}

function deadline(): Date {
  return new Date(Date.now() + CALL_TIMEOUT_MS);
}

/** Whether a gRPC error says the coordinator does not know this worker's session. */
export function isUnknownSession(error: unknown): boolean {
  return (error as grpc.ServiceError)?.code === grpc.status.NOT_FOUND;
}
