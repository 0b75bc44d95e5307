/** `GET /metrics`: Prometheus metrics of the coordinator (prom-client). */
import { Controller, Get, Header, Inject, type OnModuleInit } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { JobEvents } from '../events/job-events.service';
import { FinetunesRepository } from '../finetunes/finetunes.repository';
import { isTerminal } from '../runs/run-state';
import { RunsRepository } from '../runs/runs.repository';
import { RunSeries } from './run-series';
import { StepScheduler } from '../jobs/step-scheduler.service';
import { isAlive } from '../workers/liveness';
import { WorkerRegistry } from '../workers/worker-registry';
import { Public } from '../auth/public.decorator';

/** Serves the coordinator's metrics; values are read at scrape time from Redis and the event stream. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController implements OnModuleInit {
  private readonly registry = new Registry();
  private readonly series = new RunSeries(this.registry);

  constructor(
    private readonly runs: RunsRepository,
    private readonly finetunes: FinetunesRepository,
    private readonly workers: WorkerRegistry,
    private readonly scheduler: StepScheduler,
    private readonly events: JobEvents,
    @Inject(FORGE_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  onModuleInit(): void {
    // prom-client calls collect() with the metric as `this`; the gauges read through `self`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'forge_coordinator_' });
    const series = this.series;
    this.events.stream().subscribe((event) => {
      if (event.type === 'step') series.step(event.data.runId, event.data.metric);
      else if (event.type === 'run' && isTerminal(event.data.status)) series.finished(event.data.id);
    });
    new Gauge({
      name: 'forge_workers',
      help: 'Registered workers by state',
      labelNames: ['state'],
      registers,
      collect: async function (this: Gauge) {
        const now = Date.now();
        const list = await self.workers.list();
        const alive = list.filter((w) => isAlive(w, now, self.config.workerTimeoutMs));
        this.set({ state: 'alive' }, alive.length);
        this.set({ state: 'lost' }, list.length - alive.length);
      },
    });
    new Gauge({
      name: 'forge_runs',
      help: 'Runs by status',
      labelNames: ['status'],
      registers,
      collect: async function (this: Gauge) {
        setByStatus(this, await self.runs.list());
      },
    });
    new Gauge({
      name: 'forge_finetunes',
      help: 'Finetune jobs by status',
      labelNames: ['status'],
      registers,
      collect: async function (this: Gauge) {
        setByStatus(this, await self.finetunes.list());
      },
    });
    new Gauge({
      name: 'forge_step_queue_depth',
      help: 'Step jobs waiting, active or waiting for their ranks',
      registers,
      collect: async function (this: Gauge) {
        this.set(await self.scheduler.depth());
      },
    });
  }

  /** The metrics in the Prometheus text format (public: scrapers carry no token). */
  @Get()
  @Public()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    const text = await this.registry.metrics();
    this.series.scraped();
    return text;
  }
}

/** Sets `gauge{status}` to the number of records in each status (statuses with none are dropped). */
function setByStatus(gauge: Gauge, records: readonly { status: string }[]): void {
  const counts: Record<string, number> = {};
  for (const r of records) counts[r.status] = (counts[r.status] ?? 0) + 1;
  gauge.reset();
  for (const [status, n] of Object.entries(counts)) gauge.set({ status }, n);
}
