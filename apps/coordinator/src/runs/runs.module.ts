import { Module } from '@nestjs/common';
import { RunsController } from './runs.controller';
import { RunsRepository } from './runs.repository';
import { RunsService } from './runs.service';
import { StepScheduler } from './step-scheduler.service';

/** Pretraining runs: REST API, Redis state and BullMQ step scheduling. */
@Module({
  controllers: [RunsController],
  providers: [RunsService, RunsRepository, StepScheduler],
  exports: [RunsService],
})
export class RunsModule {}
