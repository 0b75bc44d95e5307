/**
 * The workers' control plane: the coordinator.v1 CoordinatorService over gRPC (register, heartbeat).
 * Every call must carry the cluster's shared secret. Rings and steps reach workers as BullMQ rank
 * jobs, and step metrics come back as their results, so this is all a worker calls.
 */
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'crypto';
import type { Logger } from 'pino';
import { jobAttemptId, WORKER_ID_PATTERN } from '@llm-forge/cluster-protocol';
import { coordinatorV1, METADATA_KEYS, serverCredentials } from '@llm-forge/proto';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { PINO_LOGGER } from '../logging/logger';
import { StepScheduler } from '../jobs/step-scheduler.service';
import { WorkerRegistry, type WorkerRecord } from './worker-registry';

type Callback<T> = grpc.sendUnaryData<T>;

/** Serves CoordinatorService to workers. */
@Injectable()
export class ControlPlaneServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly server = new grpc.Server();
  private readonly secretDigest: Buffer;
  private readonly log: Logger;
  /** Port the server is bound to (after bootstrap). */
  port = 0;

  constructor(
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(PINO_LOGGER) log: Logger,
    private readonly registry: WorkerRegistry,
    private readonly scheduler: StepScheduler,
  ) {
    this.log = log.child({ component: 'control-plane' });
    this.secretDigest = digest(config.clusterSecret);
    const impl: coordinatorV1.CoordinatorServiceServer = {
      registerWorker: (call, cb) => this.guard(call, cb, () => this.register(call.request)),
      heartbeat: (call, cb) => this.guard(call, cb, () => this.heartbeat(call.request)),
    };
    this.server.addService(coordinatorV1.CoordinatorServiceService, impl);
  }

  /**
   * Binds the gRPC server (FORGE_GRPC_HOST:FORGE_GRPC_PORT): mutual TLS when FORGE_TLS_* are set,
   * else plaintext, which the config allows only on loopback or with FORGE_ALLOW_INSECURE_GRPC.
   */
  async onApplicationBootstrap(): Promise<void> {
    const address = `${this.config.grpcHost}:${this.config.grpcPort}`;
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(address, serverCredentials(this.config.grpcTransport), (err, port) =>
        err
          ? reject(
              new Error(`cannot bind the control plane to ${address}: ${err.message} (set FORGE_GRPC_PORT)`),
            )
          : resolve(port),
      ),
    );
    this.log.info(
      { address: `${this.config.grpcHost}:${this.port}`, tls: this.config.grpcTransport.tls !== undefined },
      'control plane listening',
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private guard<T>(call: grpc.ServerUnaryCall<unknown, T>, cb: Callback<T>, handle: () => Promise<T>): void {
    const secret = call.metadata.get(METADATA_KEYS.secret)[0];
    if (typeof secret !== 'string' || !timingSafeEqual(digest(secret), this.secretDigest)) {
      cb({
        code: grpc.status.UNAUTHENTICATED,
        details: 'wrong or missing cluster secret (FORGE_CLUSTER_SECRET)',
      });
      return;
    }
    handle().then(
      (res) => cb(null, res),
      (err: Error & { code?: grpc.status }) =>
        cb({ code: err.code ?? grpc.status.INTERNAL, details: err.message }),
    );
  }

  private async register(
    req: coordinatorV1.RegisterWorkerRequest,
  ): Promise<coordinatorV1.RegisterWorkerResponse> {
    if (!WORKER_ID_PATTERN.test(req.workerId)) {
      throw statusError(grpc.status.INVALID_ARGUMENT, `invalid worker id ${JSON.stringify(req.workerId)}`);
    }
    if (!/^[^\s:]+:\d+$/.test(req.collectiveAddress)) {
      throw statusError(
        grpc.status.INVALID_ARGUMENT,
        `collective address must be host:port, got ${JSON.stringify(req.collectiveAddress)}`,
      );
    }
    // A new session is a new process (or a coordinator that lost its state): jobs queued for the
    // old one belong to ring generations that no longer exist.
    await this.scheduler.clearWorkerQueue(req.workerId);
    const sessionId = await this.registry.register({
      id: req.workerId,
      address: req.collectiveAddress,
      pid: req.pid,
      hostname: req.capabilities?.hostname ?? '',
      backend: req.capabilities?.backends[0] ?? '',
    });
    this.log.info(
      { workerId: req.workerId, address: req.collectiveAddress, pid: req.pid },
      'worker registered',
    );
    return { sessionId, heartbeatIntervalMs: this.config.heartbeatMs };
  }

  private async heartbeat(req: coordinatorV1.HeartbeatRequest): Promise<coordinatorV1.HeartbeatResponse> {
    const held = req.heldJobId ? { jobId: req.heldJobId, appliedSteps: req.appliedSteps } : undefined;
    const resources = { cpuPercent: req.cpuPercent, rssBytes: req.rssBytes };
    if (!(await this.registry.heartbeat(req.workerId, req.sessionId, held, resources))) {
      throw unknownSession(req.workerId);
    }
    await this.registry.appendLog(req.workerId, req.logLines);
    if (req.leaving) {
      // Shut down cleanly: forget it now, so the drivers never form a ring with a stopped worker.
      await this.registry.remove(req.workerId);
      this.log.info({ workerId: req.workerId }, 'worker left');
      return { abortReason: '' };
    }
    const worker = await this.registry.get(req.workerId);
    return { abortReason: staleAttempt(req.runningJob, worker?.assignment) };
  }
}

/**
 * Why the job attempt a worker reports running must stop: the worker's assignment no longer names
 * that attempt (the job was cancelled, paused, failed, or re-formed on another ring). Empty: carry on.
 * A worker checks between the steps of a job (a DiLoCo run's inner steps) and during a finetune's
 * final evaluation; a one-step job runs to its end.
 */
function staleAttempt(running: string, assignment: WorkerRecord['assignment']): string {
  if (!running) return '';
  const current = assignment ? jobAttemptId(assignment.jobId, assignment.attempt) : undefined;
  return running === current
    ? ''
    : `attempt ${running} was cancelled, paused or superseded${current ? ` by ${current}` : ''}`;
}

function unknownSession(workerId: string): Error & { code: grpc.status } {
  return statusError(grpc.status.NOT_FOUND, `unknown session of worker ${workerId}: register again`);
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function statusError(code: grpc.status, message: string): Error & { code: grpc.status } {
  return Object.assign(new Error(message), { code });
}
