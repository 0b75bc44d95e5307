/** Builds the Nest application (used by main.ts and the e2e tests). */
import 'reflect-metadata';
import type { Server as HttpServer } from 'http';
import type { AddressInfo } from 'net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import express, { type NextFunction, type Request, type Response } from 'express';
import * as fs from 'fs';
import * as path from 'path';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { QUEUE_BOARD_PATH, QueueBoard } from './queue-board/queue-board.service';
import { checkBearer } from './auth/token';
import { DomainExceptionFilter } from './common/domain-exception.filter';
import type { CoordinatorConfig } from './config/config.schema';
import { createLogger, PinoNestLogger } from './logging/logger';
import { assertRedisReachable } from './redis/redis.service';

/** Where the built dashboard is: FORGE_DASHBOARD_DIR, else apps/dashboard/dist beside this app. */
export function dashboardDir(config: CoordinatorConfig): string | undefined {
  const dir = config.dashboardDir ?? path.join(__dirname, '..', '..', 'dashboard', 'dist');
  return fs.existsSync(path.join(dir, 'index.html')) ? dir : undefined;
}

/**
 * Serves the dashboard's static files at `/` (no token: the page asks for it; the API behind it stays
 * guarded). Its pages live in the URL hash, so no fallback route is needed.
 */
function serveDashboard(app: INestApplication, config: CoordinatorConfig, logger: Logger): void {
  const dir = dashboardDir(config);
  if (!dir) {
    if (config.dashboardDir)
      logger.warn({ dir: config.dashboardDir }, 'FORGE_DASHBOARD_DIR has no index.html; dashboard off');
    return;
  }
  const files = express.static(dir, {
    index: 'index.html',
    setHeaders: (res, file) =>
      res.setHeader(
        'Cache-Control',
        file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
      ),
  });
  // Every dashboard file has an extension and the API's routes have none: an API request skips
  // the file system look-up it would otherwise make first.
  app.use((req: Request, res: Response, next: NextFunction) =>
    req.path === '/' || path.extname(req.path) !== '' ? files(req, res, next) : next(),
  );
  logger.info({ dir }, 'dashboard at /');
}

/** A built coordinator and its logger. */
export interface CoordinatorApp {
  app: INestApplication;
  logger: Logger;
  openapi: OpenAPIObject;
}

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /** Logger to use. @defaultValue a pino logger at `config.logLevel` */
  logger?: Logger;
}

/**
 * Creates the app (not yet listening): checks Redis answers, installs the exception filter, serves the
 * OpenAPI document at `/openapi.json` and Swagger UI at `/docs` (both behind the token when auth is on).
 */
export async function createApp(
  config: CoordinatorConfig,
  options: CreateAppOptions = {},
): Promise<CoordinatorApp> {
  const logger = options.logger ?? createLogger(config.logLevel);
  await assertRedisReachable(config.redisUrl);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger.child({ component: 'nest' })),
  });
  // A bounded body: a larger one is refused with 413 by the exception filter, never parsed.
  app.useBodyParser('json', { limit: config.maxBodyBytes });
  app.useGlobalFilters(new DomainExceptionFilter(logger));

  const apiToken = config.apiToken;
  if (config.authEnabled && apiToken !== undefined) {
    app.use(['/openapi.json', '/docs'], (req: Request, res: Response, next: NextFunction) => {
      const check = checkBearer(req.headers.authorization, apiToken);
      if (check.ok) next();
      else res.status(401).json({ statusCode: 401, error: 'unauthorized', message: check.message });
    });
  }
  const openapi = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('LLM Forge coordinator')
      .setDescription('Distributed pretraining runs: state in Redis, steps scheduled through BullMQ.')
      .setVersion('0.1.0')
      // the token is FORGE_API_TOKEN (hex), not a JWT, which the default bearerFormat would claim
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'FORGE_API_TOKEN (hex)' })
      .build(),
  );
  SwaggerModule.setup('docs', app, openapi, { jsonDocumentUrl: 'openapi.json' });
  app.use(QUEUE_BOARD_PATH, ...app.get(QueueBoard).handlers());
  serveDashboard(app, config, logger);
  return { app, logger, openapi };
}

/**
 * Starts listening on `config.httpHost:config.port` (local mode: loopback only, never every
 * interface); resolves to the bound address.
 */
export async function listen(app: INestApplication, config: CoordinatorConfig): Promise<AddressInfo> {
  await app.listen(config.port, config.httpHost);
  return (app.getHttpServer() as HttpServer).address() as AddressInfo;
}
