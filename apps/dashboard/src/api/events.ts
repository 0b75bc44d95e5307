/**
 * The coordinator's live event stream (GET /events, server-sent events): `run` when a run changes,
 * `step` for each step's metrics, `finetune` when a finetune job changes. EventSource reconnects by
 * itself after a drop; the pages refetch on reconnect and poll while the stream is down.
 */
import type { FinetuneEvent, Run, StepEvent } from './types';

/** Handlers of the typed events. */
export interface LiveHandlers {
  run?: (run: Run) => void;
  step?: (event: StepEvent) => void;
  finetune?: (finetune: FinetuneEvent) => void;
}

/** State of the connection. */
export type LiveState = 'connecting' | 'open' | 'down';

/** A minimal EventSource (the browser's, or a fake in tests). */
export interface EventSourceLike {
  onopen: ((ev: Event) => void) | null;
  onerror: ((ev: Event) => void) | null;
  readyState: number;
  addEventListener(type: string, listener: (ev: MessageEvent<string>) => void): void;
  close(): void;
}

/** Subscribers of one shared stream. */
export class LiveEvents {
  private source: EventSourceLike | undefined;
  private readonly subscribers = new Set<LiveHandlers>();
  private readonly stateListeners = new Set<(s: LiveState) => void>();
  private current: LiveState = 'down';

  constructor(
    private readonly url: () => string,
    private readonly open: (url: string) => EventSourceLike = (u) => new EventSource(u),
  ) {}

  /** Starts the stream (idempotent). */
  connect(): void {
    if (this.source) return;
    const source = this.open(this.url());
    this.source = source;
    this.setState('connecting');
    source.onopen = () => this.setState('open');
    // EventSource retries by itself (readyState CONNECTING); CLOSED means it gave up (e.g. a 401 or 404).
    source.onerror = () => this.setState(source.readyState === 2 ? 'down' : 'connecting');
    this.listen<Run>(source, 'run', (h, v) => h.run?.(v));
    this.listen<StepEvent>(source, 'step', (h, v) => h.step?.(v));
    this.listen<FinetuneEvent>(source, 'finetune', (h, v) => h.finetune?.(v));
  }

  /** Stops the stream (after a token change, call connect again). */
  disconnect(): void {
    this.source?.close();
    this.source = undefined;
    this.setState('down');
  }

  /** Adds handlers; returns the function that removes them. */
  subscribe(handlers: LiveHandlers): () => void {
    this.subscribers.add(handlers);
    return () => this.subscribers.delete(handlers);
  }

  /** Follows the connection state; returns the function that stops following. */
  onState(listener: (s: LiveState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.current);
    return () => this.stateListeners.delete(listener);
  }

  /** The connection state now. */
  get state(): LiveState {
    return this.current;
  }

  private listen<T>(source: EventSourceLike, type: string, call: (h: LiveHandlers, value: T) => void): void {
    source.addEventListener(type, (ev) => {
      let value: T;
      try {
        value = JSON.parse(ev.data) as T;
      } catch {
        console.warn(`ignoring a malformed ${type} event: ${ev.data.slice(0, 80)}`);
        return;
      }
      for (const h of this.subscribers) call(h, value);
    });
  }

  private setState(s: LiveState): void {
    if (s === this.current) return;
    this.current = s;
    for (const l of this.stateListeners) l(s);
  }
}
