import { Module } from '@nestjs/common';
import { RunEvents } from '../events/run-events.service';
import { EventsController } from '../events/events.controller';
import { ControlPlaneServer } from '../workers/control-plane.server';
import { WorkersModule } from '../workers/workers.module';
import { CheckpointResolver } from './checkpoint-resolver';
import { RunDriver } from './run-driver.service';
import { RunsController } from './runs.controller';
import { RunsRepository } from './runs.repository';
import { RunsService } from './runs.service';
import { StepProcessor } from './step-processor.service';
import { StepScheduler } from './step-scheduler.service';

/**
 * Pretraining runs: REST API, Redis state, BullMQ step scheduling, the driver that takes runs through
 * their steps, the workers' gRPC control plane, and the event stream.
 */
@Module({
  imports: [WorkersModule],
  controllers: [RunsController, EventsController],
  providers: [
    RunsService,
    RunsRepository,
    StepScheduler,
    RunDriver,
    StepProcessor,
    ControlPlaneServer,
    RunEvents,
    CheckpointResolver,
  ],
  exports: [RunsService, RunsRepository, RunEvents, ControlPlaneServer, StepScheduler, CheckpointResolver],
})
export class RunsModule {}
