import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { WorkersModule } from '../workers/workers.module';
import { CheckpointResolver } from './checkpoint-resolver';
import { RunAnnotations } from './run-annotations';
import { RunCatalog } from './run-catalog.service';
import { RunKind } from './run-kind';
import { RunsController } from './runs.controller';
import { RunsRepository } from './runs.repository';
import { RunsService } from './runs.service';
import { SubmissionGate } from './submission-gate';

/**
 * Pretraining runs: REST API, Redis state, and the run kind the job engine (JobsModule) drives.
 * Re-exports the job engine and its event stream for the app's metrics.
 */
@Module({
  imports: [WorkersModule, JobsModule],
  controllers: [RunsController],
  providers: [
    RunsService,
    RunsRepository,
    RunKind,
    CheckpointResolver,
    RunCatalog,
    RunAnnotations,
    SubmissionGate,
  ],
  exports: [RunsService, RunsRepository, JobsModule, CheckpointResolver, SubmissionGate],
})
export class RunsModule {}
