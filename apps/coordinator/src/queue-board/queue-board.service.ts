/**
 * Bull Board at `/queues`: the step queue and every registered worker's rank queue, for operators. It
 * sits behind the API token like the rest of the API; since a browser page cannot send the header,
 * `/queues?token=<FORGE_API_TOKEN>` once sets an HttpOnly cookie scoped to `/queues`.
 */
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rankQueueName, STEP_QUEUE } from '@llm-forge/cluster-protocol';
import { checkBearer } from '../auth/token';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { redisOptions } from '../redis/redis.service';
import { bullPrefix } from '../jobs/step-scheduler.service';
import { WorkerRegistry } from '../workers/worker-registry';

/** Where the board is mounted. */
export const QUEUE_BOARD_PATH = '/queues';
const COOKIE = 'forge_token';
/** How often the list of worker queues is refreshed (on a request). */
const REFRESH_MS = 5000;

/** The queue dashboard and its guard. */
@Injectable()
export class QueueBoard implements OnApplicationShutdown {
  private readonly adapter = new ExpressAdapter();
  private readonly queues = new Map<string, Queue>();
  private readonly board: ReturnType<typeof createBullBoard>;
  private refreshedAt = 0;

  constructor(
    private readonly registry: WorkerRegistry,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
  ) {
    this.adapter.setBasePath(QUEUE_BOARD_PATH);
    this.board = createBullBoard({
      queues: [],
      serverAdapter: this.adapter,
      options: { uiConfig: { boardTitle: 'LLM Forge queues' } },
    });
  }

  /** The middleware to mount at {@link QUEUE_BOARD_PATH}: token check, queue refresh, the board. */
  handlers(): RequestHandler[] {
    return [
      (req, res, next) => this.authorize(req, res, next),
      (_req, _res, next) => void this.refresh().then(() => next(), next),
      this.adapter.getRouter() as RequestHandler,
    ];
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
  }

  private authorize(req: Request, res: Response, next: NextFunction): void {
    const token = this.config.apiToken;
    if (!this.config.authEnabled || token === undefined) return next();
    const query = typeof req.query.token === 'string' ? req.query.token : undefined;
    const cookie = readCookie(req.headers.cookie, COOKIE);
    const header = req.headers.authorization ?? ((query ?? cookie) ? `Bearer ${query ?? cookie}` : undefined);
    const check = checkBearer(header, token);
    if (!check.ok) {
      res.status(401).json({
        statusCode: 401,
        error: 'unauthorized',
        message: `${check.message}; open ${QUEUE_BOARD_PATH}?token=<FORGE_API_TOKEN> once in the browser`,
      });
      return;
    }
    if (query !== undefined) {
      res.cookie(COOKIE, query, { httpOnly: true, sameSite: 'strict', path: QUEUE_BOARD_PATH });
    }
    next();
  }

  /** Shows the step queue (every kind of job) and the queue of every registered worker. */
  private async refresh(): Promise<void> {
    if (Date.now() - this.refreshedAt < REFRESH_MS) return;
    this.refreshedAt = Date.now();
    const names = [STEP_QUEUE, ...(await this.registry.list()).map((w) => rankQueueName(w.id))];
    for (const name of names) {
      if (!this.queues.has(name)) {
        const queue = new Queue(name, {
          connection: redisOptions(this.config.redisUrl),
          prefix: bullPrefix(this.config.redisPrefix),
        });
        queue.on('error', () => undefined); // a Redis outage shows on the board; nothing to crash
        this.queues.set(name, queue);
      }
    }
    this.board.replaceQueues(names.map((n) => new BullMQAdapter(this.queues.get(n) as Queue)));
  }
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}
