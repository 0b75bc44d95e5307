import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { RunsModule } from '../runs/runs.module';
import { FinetuneKind } from './finetune-kind';
import { FinetunesController } from './finetunes.controller';
import { FinetunesRepository } from './finetunes.repository';
import { FinetunesService } from './finetunes.service';

/**
 * Finetune jobs: REST API, Redis state, and the finetune kind the job engine (JobsModule) drives
 * step by step like a pretraining run, on rings from the shared WorkerPool.
 */
@Module({
  imports: [RunsModule, JobsModule],
  controllers: [FinetunesController],
  providers: [FinetunesService, FinetunesRepository, FinetuneKind],
  exports: [FinetunesService, FinetunesRepository],
})
export class FinetunesModule {}
