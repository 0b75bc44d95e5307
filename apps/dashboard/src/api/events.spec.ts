import { LiveEvents, type EventSourceLike, type LiveState } from './events';
import type { FinetuneEvent, Run, StepEvent } from './types';

class FakeSource implements EventSourceLike {
  onopen: ((ev: Event) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  readyState = 0;
  closed = false;
  readonly listeners = new Map<string, (ev: MessageEvent<string>) => void>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (ev: MessageEvent<string>) => void): void {
    this.listeners.set(type, listener);
  }
  close(): void {
    this.closed = true;
  }
  emit(type: string, data: string): void {
    this.listeners.get(type)?.({ data } as MessageEvent<string>);
  }
}

describe('LiveEvents', () => {
  function setup() {
    const sources: FakeSource[] = [];
    const live = new LiveEvents(
      () => '/events?token=t',
      (url) => {
        const s = new FakeSource(url);
        sources.push(s);
        return s;
      },
    );
    const states: LiveState[] = [];
    live.onState((s) => states.push(s));
    return { live, sources, states };
  }

  it('dispatches typed events to every subscriber until unsubscribed', () => {
    const { live, sources } = setup();
    const runs: Run[] = [];
    const steps: StepEvent[] = [];
    const off = live.subscribe({ run: (r) => runs.push(r), step: (s) => steps.push(s) });
    live.connect();
    live.connect(); // idempotent
    expect(sources).toHaveLength(1);
    expect(sources[0].url).toBe('/events?token=t');
    sources[0].emit('run', '{"id":"r1","status":"running"}');
    sources[0].emit('step', '{"runId":"r1","metric":{"step":3,"loss":2.5}}');
    sources[0].emit('step', 'not json');
    off();
    sources[0].emit('run', '{"id":"r2"}');
    expect(runs.map((r) => r.id)).toEqual(['r1']);
    expect(steps).toEqual([{ runId: 'r1', metric: { step: 3, loss: 2.5 } }]);
  });

  it('dispatches finetune events with the history they carry', () => {
    const { live, sources } = setup();
    const finetunes: FinetuneEvent[] = [];
    live.subscribe({ finetune: (f) => finetunes.push(f) });
    live.connect();
    sources[0].emit('finetune', '{"id":"ft-1","status":"queued","progress":{"step":0,"totalSteps":0}}');
    sources[0].emit(
      'finetune',
      '{"id":"ft-1","status":"running","progress":{"step":1,"totalSteps":2},"metrics":[{"step":1,"trainLoss":0.9}]}',
    );
    expect(finetunes.map((f) => [f.status, f.metrics?.length])).toEqual([
      ['queued', undefined],
      ['running', 1],
    ]);
  });

  it('tracks the connection state through open, retry and give-up', () => {
    const { live, sources, states } = setup();
    live.connect();
    const s = sources[0];
    s.onopen?.(new Event('open'));
    s.readyState = 0;
    s.onerror?.(new Event('error'));
    s.readyState = 2;
    s.onerror?.(new Event('error'));
    live.disconnect();
    expect(states).toEqual(['down', 'connecting', 'open', 'connecting', 'down']);
    expect(s.closed).toBe(true);
  });
});
