import { Module } from '@nestjs/common';
import { WorkerPool } from './worker-pool';
import { WorkerPoolLock } from './worker-pool-lock';
import { WorkerRegistry } from './worker-registry';
import { WorkerRetention } from './worker-retention.service';
import { WorkersController } from './workers.controller';

/**
 * The worker registry, the worker pool every kind of job forms its rings from, the registry's
 * retention sweep and `GET /workers` (the gRPC control plane lives in RunsModule, which it feeds).
 */
@Module({
  controllers: [WorkersController],
  providers: [WorkerRegistry, WorkerPoolLock, WorkerPool, WorkerRetention],
  exports: [WorkerRegistry, WorkerPool],
})
export class WorkersModule {}
