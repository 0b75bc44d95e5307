/**
 * The per-run Prometheus series, fed by the step and run events, following Prometheus practice:
 * - `forge_steps_total` counts each optimizer step once: a step re-run (a retried attempt, a rewind
 *   to a checkpoint) is the same step, so only a step beyond the highest counted one adds to it;
 * - `forge_tokens_per_second` is the median of the run's recent steps, so one step that also evaluated
 *   or checkpointed (and so ran slow) does not pass for the run's pace — it used to stay as a
 *   finished run's throughput;
 * - a finished run's series (completed, failed, cancelled) are exported by one more scrape, with
 *   their final values, and dropped after it, so a long-lived coordinator does not export every run
 *   it ever had.
 * All-reduce bytes are real traffic even when a step is re-run, so they are counted every time.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { StepMetrics } from '../runs/run.model';

/** Steps whose tokens/s the throughput gauge takes the median of. */
export const THROUGHPUT_STEPS = 20;

/** The per-run series in `registry`. */
export class RunSeries {
  private readonly steps: Counter;
  private readonly bytes: Counter;
  private readonly loss: Gauge;
  private readonly tps: Gauge;
  private readonly stepSeconds: Gauge;
  private readonly commSeconds: Gauge;
  /** Per run: the highest step counted, and the recent tokens/s. */
  private readonly state = new Map<string, { highest: number; recentTps: number[] }>();
  /** Runs finished since the last scrape: their series go after the next one. */
  private readonly ended = new Set<string>();

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['run'];
    this.steps = new Counter({ name: 'forge_steps_total', help: 'Optimizer steps completed (a step re-run counts once)', labelNames, registers }); // prettier-ignore
    this.bytes = new Counter({ name: 'forge_allreduce_bytes_total', help: 'Bytes all ranks sent on the ring', labelNames, registers }); // prettier-ignore
    this.loss = new Gauge({
      name: 'forge_loss',
      help: 'Training loss of the last step',
      labelNames,
      registers,
    });
    this.tps = new Gauge({ name: 'forge_tokens_per_second', help: `Tokens per second: median of the run's last ${THROUGHPUT_STEPS} steps`, labelNames, registers }); // prettier-ignore
    this.stepSeconds = new Gauge({ name: 'forge_step_seconds', help: 'Wall time of the last step', labelNames, registers }); // prettier-ignore
    this.commSeconds = new Gauge({ name: 'forge_allreduce_seconds', help: "Slowest rank's all-reduce time of the last step", labelNames, registers }); // prettier-ignore
  }

  /** Records a step of run `run` (a re-run step replaces the figures but is not counted again). */
  step(run: string, metric: StepMetrics): void {
    const s = this.state.get(run) ?? { highest: -1, recentTps: [] };
    this.state.set(run, s);
    if (metric.step > s.highest) {
      this.steps.inc({ run });
      s.highest = metric.step;
    }
    this.loss.set({ run }, metric.loss);
    if (metric.tokensPerSecond !== undefined) {
      s.recentTps = [...s.recentTps, metric.tokensPerSecond].slice(-THROUGHPUT_STEPS);
      this.tps.set({ run }, median(s.recentTps));
    }
    if (metric.stepMs !== undefined) this.stepSeconds.set({ run }, metric.stepMs / 1000);
    if (metric.commMs !== undefined) this.commSeconds.set({ run }, metric.commMs / 1000);
    if (metric.bytesSent !== undefined) this.bytes.inc({ run }, metric.bytesSent);
  }

  /** Marks a run finished: its series stay for one more scrape (their final values), then go. */
  finished(run: string): void {
    this.ended.add(run);
  }

  /** Drops the series of the runs finished before the scrape that just ended. */
  scraped(): void {
    for (const run of this.ended) {
      this.state.delete(run);
      for (const metric of [
        this.steps,
        this.bytes,
        this.loss,
        this.tps,
        this.stepSeconds,
        this.commSeconds,
      ]) {
        metric.remove({ run });
      }
    }
    this.ended.clear();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
