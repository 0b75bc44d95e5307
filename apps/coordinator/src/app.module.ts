import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Logger } from 'pino';
import { BearerAuthGuard } from './auth/bearer-auth.guard';
import { FORGE_CONFIG } from './config/config.constants';
import { FinetunesModule } from './finetunes/finetunes.module';
import { GenerateModule } from './generate/generate.module';
import type { CoordinatorConfig } from './config/config.schema';
import { HealthController } from './health/health.controller';
import { PINO_LOGGER } from './logging/logger';
import { RedisService } from './redis/redis.service';
import { MetricsController } from './metrics/metrics.controller';
import { QueueBoard } from './queue-board/queue-board.service';
import { RunsModule } from './runs/runs.module';
import { WorkersModule } from './workers/workers.module';

/** Configuration, logger and Redis, visible to every feature module. */
@Global()
@Module({})
export class CoreModule {
  /** Provides the validated config, the pino logger and the Redis connections. */
  static forRoot(config: CoordinatorConfig, logger: Logger): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: FORGE_CONFIG, useValue: config },
        { provide: PINO_LOGGER, useValue: logger },
        RedisService,
      ],
      exports: [FORGE_CONFIG, PINO_LOGGER, RedisService],
    };
  }
}

/** The coordinator: core services, runs, workers, generation, finetunes, health, and the global bearer-token guard. */
@Module({})
export class AppModule {
  /** The root module for a validated configuration. */
  static forRoot(config: CoordinatorConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config, logger),
        RunsModule,
        WorkersModule,
        GenerateModule,
        FinetunesModule,
      ],
      controllers: [HealthController, MetricsController],
      providers: [{ provide: APP_GUARD, useClass: BearerAuthGuard }, QueueBoard],
    };
  }
}
