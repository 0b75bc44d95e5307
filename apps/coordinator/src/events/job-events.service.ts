/**
 * In-process event bus of training-job changes, read by `/events` (SSE): fed by the run driver and
 * the runs API (`run`, `step`) and by the finetune driver (`finetune`).
 */
import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { Finetune, FinetuneDetail } from '../finetunes/finetune.model';
import type { Run, StepMetrics } from '../runs/run.model';

/**
 * A finetune record after a change. `metrics` (the whole logged history, bounded like rank 0's
 * report) comes with rank 0's progress and with completion, `evaluation` with completion; a client
 * keeps what it had when they are absent.
 */
export type FinetuneEvent = Finetune & Partial<Pick<FinetuneDetail, 'metrics' | 'evaluation'>>;

/** One event of the stream. */
export type ForgeEvent =
  | { type: 'run'; data: Run }
  | { type: 'step'; data: { runId: string; metric: StepMetrics } }
  | { type: 'finetune'; data: FinetuneEvent };

/** Publishes run, step and finetune events to every subscriber. */
@Injectable()
export class JobEvents {
  private readonly subject = new Subject<ForgeEvent>();

  /** Publishes an event. */
  emit(event: ForgeEvent): void {
    this.subject.next(event);
  }

  /** Every event from now on. */
  stream(): Observable<ForgeEvent> {
    return this.subject.asObservable();
  }
}
