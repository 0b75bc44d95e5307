import { Module } from '@nestjs/common';
import { WorkerPoolLock } from './worker-pool-lock';
import { WorkerRegistry } from './worker-registry';
import { WorkersController } from './workers.controller';

/** The worker registry and `GET /workers` (the gRPC control plane lives in RunsModule, which it feeds). */
@Module({
  controllers: [WorkersController],
  providers: [WorkerRegistry, WorkerPoolLock],
  exports: [WorkerRegistry, WorkerPoolLock],
})
export class WorkersModule {}
