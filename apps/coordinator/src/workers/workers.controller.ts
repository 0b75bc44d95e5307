/** `GET /workers`: the registered workers, their liveness and their place in a ring. */
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { WorkerNotFoundError } from '../common/errors';
import { isAlive } from './liveness';
import { LOG_LINES_KEPT, WorkerRegistry, type JobKind } from './worker-registry';

/** A worker as the API shows it. */
export interface WorkerView {
  id: string;
  pid: number;
  hostname: string;
  address: string;
  backend: string;
  /**
   * `training` (in a ring), `idle` (alive, free) or `lost` (no heartbeat for the worker timeout; the
   * record is removed after the retention period, FORGE_WORKER_RETENTION_MS).
   */
  state: 'training' | 'idle' | 'lost';
  /** The job it trains in: a run's id, or a finetune's when `kind` is `finetune`. */
  jobId?: string;
  kind?: JobKind;
  rank?: number;
  registeredAt: string;
  lastHeartbeatAt: string;
  /** CPU of the worker process since its heartbeat before, in percent of one core (200: two cores). */
  cpuPercent?: number;
  /** Resident memory of the worker process, in bytes. */
  rssBytes?: number;
}

const str = { type: 'string' } as const;

/** A worker as `GET /workers` shows it. */
const WORKER_SCHEMA = {
  type: 'object',
  required: ['id', 'pid', 'address', 'backend', 'state', 'registeredAt', 'lastHeartbeatAt'],
  properties: {
    id: str,
    pid: { type: 'integer' },
    hostname: str,
    address: { ...str, description: "host:port of the worker's collective (ring) server" },
    backend: str,
    state: { type: 'string', enum: ['training', 'idle', 'lost'] },
    jobId: { ...str, description: "the job it trains in: a run's id, or a finetune's when kind is finetune" },
    kind: { type: 'string', enum: ['run', 'finetune'] },
    rank: { type: 'integer' },
    cpuPercent: { type: 'number', description: 'CPU since its heartbeat before, percent of one core' },
    rssBytes: { type: 'integer', description: 'resident memory of the worker process' },
    registeredAt: { type: 'string', format: 'date-time' },
    lastHeartbeatAt: { type: 'string', format: 'date-time' },
  },
};

/** Lists workers. */
@ApiTags('workers')
@ApiBearerAuth()
@Controller('workers')
export class WorkersController {
  constructor(
    private readonly registry: WorkerRegistry,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  /** Every registered worker. */
  @Get()
  @ApiOperation({
    summary: 'registered workers with state (training, idle, lost), job (run or finetune) and rank',
  })
  @ApiResponse({ status: 200, description: 'the workers', schema: { type: 'array', items: WORKER_SCHEMA } })
  async list(): Promise<WorkerView[]> {
    const now = Date.now();
    return (await this.registry.list()).map((w) => {
      const alive = isAlive(w, now, this.config.workerTimeoutMs);
      const view: WorkerView = {
        id: w.id,
        pid: w.pid,
        hostname: w.hostname,
        address: w.address,
        backend: w.backend,
        state: !alive ? 'lost' : w.assignment ? 'training' : 'idle',
        registeredAt: w.registeredAt,
        lastHeartbeatAt: new Date(w.lastSeen).toISOString(),
        ...(w.resources ?? {}),
      };
      if (w.assignment) {
        const { jobId, rank, kind = 'run' } = w.assignment;
        Object.assign(view, { jobId, kind, rank });
      }
      return view;
    });
  }

  /** A worker's newest log lines, as its heartbeats carried them. */
  @Get(':id/logs')
  @ApiOperation({
    summary: "a worker's newest log lines (JSON lines, oldest first), as its heartbeats sent them",
  })
  @ApiResponse({
    status: 200,
    description: 'the lines',
    schema: { type: 'object', properties: { lines: { type: 'array', items: { type: 'string' } } } },
  })
  @ApiResponse({ status: 404, description: 'no such worker' })
  async logs(@Param('id') id: string, @Query('lines') lines?: string): Promise<{ lines: string[] }> {
    if (!(await this.registry.get(id))) throw new WorkerNotFoundError(id);
    const count = Math.min(Math.max(Number.parseInt(lines ?? '', 10) || 50, 1), LOG_LINES_KEPT);
    return { lines: await this.registry.log(id, count) };
  }
}
