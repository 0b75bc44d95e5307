import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { ControlPlaneServer } from '../workers/control-plane.server';
import { WorkersModule } from '../workers/workers.module';
import { JobDriver } from './job-driver.service';
import { StepProcessor } from './step-processor.service';
import { StepScheduler } from './step-scheduler.service';

/**
 * The one job engine of every kind of training job: the driver that takes jobs through their steps,
 * the BullMQ step schedule (one flow per step; its parent jobs processed here), and the workers'
 * gRPC control plane. Each kind's module (runs, finetunes) registers its {@link TrainingJobKind}
 * with the driver; rings come from the shared WorkerPool (WorkersModule).
 */
@Module({
  imports: [WorkersModule, EventsModule],
  providers: [JobDriver, StepScheduler, StepProcessor, ControlPlaneServer],
  exports: [JobDriver, StepScheduler, ControlPlaneServer, EventsModule],
})
export class JobsModule {}
