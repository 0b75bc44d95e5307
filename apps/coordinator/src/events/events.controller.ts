/** `GET /events`: server-sent events of run and finetune changes and step metrics, for the dashboard. */
import { Controller, type MessageEvent, Sse } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { interval, map, merge, type Observable } from 'rxjs';
import { QueryToken } from '../auth/public.decorator';
import { JobEvents } from './job-events.service';

/** A `ping` event this often stops proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/** The event stream. */
@ApiTags('events')
@ApiBearerAuth()
@Controller('events')
export class EventsController {
  constructor(private readonly events: JobEvents) {}

  /**
   * `event: run` (a run record after any change), `event: step` ({runId, metric}) and
   * `event: finetune` (a finetune record after any change; with `metrics` on progress and completion,
   * `evaluation` on completion). The token may be given as `?token=` because browsers' EventSource
   * cannot send headers.
   */
  @Sse()
  @QueryToken()
  @ApiOperation({
    summary: 'server-sent events: `run` (run record), `step` ({runId, metric}), `finetune` (finetune record)',
  })
  stream(): Observable<MessageEvent> {
    const events = this.events.stream().pipe(map((e): MessageEvent => ({ type: e.type, data: e.data })));
    const keepalive = interval(KEEPALIVE_MS).pipe(map((): MessageEvent => ({ type: 'ping', data: {} })));
    return merge(events, keepalive);
  }
}
