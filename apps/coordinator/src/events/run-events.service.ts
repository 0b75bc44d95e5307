/** In-process event bus of run changes, fed by the run driver and the API, read by `/events` (SSE). */
import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { Run, StepMetrics } from '../runs/run.model';

/** One event of the stream. */
export type ForgeEvent =
  { type: 'run'; data: Run } | { type: 'step'; data: { runId: string; metric: StepMetrics } };

/** Publishes run and step events to every subscriber. */
@Injectable()
export class RunEvents {
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
