import { Module } from '@nestjs/common';
import { EventsController } from './events.controller';
import { JobEvents } from './job-events.service';

/**
 * The event bus and `GET /events`. Below the job modules: runs and finetunes both import it and
 * publish into the one stream.
 */
@Module({
  controllers: [EventsController],
  providers: [JobEvents],
  exports: [JobEvents],
})
export class EventsModule {}
