import { Module } from '@nestjs/common';
import { WorkerPoolLock } from './worker-pool-lock';
import { WorkerRegistry } from './worker-registry';
import { WorkerRetention } from './worker-retention.service';
import { WorkersController } from './workers.controller';

/**
 * The worker registry, its retention sweep and `GET /workers` (the gRPC control plane lives in
 * RunsModule, which it feeds).
 */
@Module({
  controllers: [WorkersController],
  providers: [WorkerRegistry, WorkerPoolLock, WorkerRetention],
  exports: [WorkerRegistry, WorkerPoolLock],
})
export class WorkersModule {}
