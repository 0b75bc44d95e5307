import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { RunsModule } from '../runs/runs.module';
import { WorkersModule } from '../workers/workers.module';
import { FinetuneDriver } from './finetune-driver.service';
import { FinetuneProcessor } from './finetune-processor.service';
import { FinetuneScheduler } from './finetune-scheduler.service';
import { FinetunesController } from './finetunes.controller';
import { FinetunesRepository } from './finetunes.repository';
import { FinetunesService } from './finetunes.service';

/**
 * Finetune jobs: REST API, Redis state, BullMQ scheduling of each attempt on the workers' rank
 * queues, and the driver that follows, retries and completes them and publishes `finetune` events.
 * Forms its rings from the WorkerPool shared with pretraining runs (WorkersModule).
 */
@Module({
  imports: [RunsModule, WorkersModule, EventsModule],
  controllers: [FinetunesController],
  providers: [FinetunesService, FinetunesRepository, FinetuneScheduler, FinetuneDriver, FinetuneProcessor],
  exports: [FinetunesService, FinetunesRepository],
})
export class FinetunesModule {}
