import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { ControlPlaneServer } from '../workers/control-plane.server';
import { WorkersModule } from '../workers/workers.module';
import { CheckpointResolver } from './checkpoint-resolver';
import { RunAnnotations } from './run-annotations';
import { RunCatalog } from './run-catalog.service';
import { RunDriver } from './run-driver.service';
import { RunRemoval } from './run-removal';
import { RunsController } from './runs.controller';
import { RunsRepository } from './runs.repository';
import { RunsService } from './runs.service';
import { StepProcessor } from './step-processor.service';
import { StepScheduler } from './step-scheduler.service';

/**
 * Pretraining runs: REST API, Redis state, BullMQ step scheduling, the driver that takes runs through
 * their steps (its rings from the shared WorkerPool), and the workers' gRPC control plane. Re-exports
 * the event stream (EventsModule) for the app's metrics.
 */
@Module({
  imports: [WorkersModule, EventsModule],
  controllers: [RunsController],
  providers: [
    RunsService,
    RunsRepository,
    StepScheduler,
    RunDriver,
    StepProcessor,
    ControlPlaneServer,
    CheckpointResolver,
    RunCatalog,
    RunAnnotations,
    RunRemoval,
  ],
  exports: [RunsService, RunsRepository, EventsModule, ControlPlaneServer, StepScheduler, CheckpointResolver],
})
export class RunsModule {}
