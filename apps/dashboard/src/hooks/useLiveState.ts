/** The live stream's connection state, and subscription to its events for the lifetime of a component. */
import { useEffect, useRef, useState } from 'react';
import type { LiveHandlers, LiveState } from '../api/events';
import { useServices } from '../app/context';

/** The connection state of the event stream. */
export function useLiveState(): LiveState {
  const { live } = useServices();
  const [state, setState] = useState<LiveState>(live.state);
  useEffect(() => live.onState(setState), [live]);
  return state;
}

/** Calls the latest `handlers` for each live event while the component is mounted. */
export function useLiveEvents(handlers: LiveHandlers): void {
  const { live } = useServices();
  const latest = useRef(handlers);
  useEffect(() => {
    latest.current = handlers;
  });
  useEffect(
    () =>
      live.subscribe({
        run: (r) => latest.current.run?.(r),
        step: (s) => latest.current.step?.(s),
        finetune: (f) => latest.current.finetune?.(f),
      }),
    [live],
  );
}
