import { Module } from '@nestjs/common';
import { RunsModule } from '../runs/runs.module';
import { GenerateController } from './generate.controller';
import { executorProvider, GenerateService } from './generate.service';

/**
 * Text generation from checkpoints (`POST /generate`), run in a worker thread so that forward passes
 * never block the coordinator's event loop.
 */
@Module({
  imports: [RunsModule],
  controllers: [GenerateController],
  providers: [GenerateService, executorProvider],
})
export class GenerateModule {}
