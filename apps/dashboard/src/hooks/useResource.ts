/**
 * Loads data from the API and keeps it fresh: refetched every `fastMs` while the live stream is
 * not open (so the dashboard works against a coordinator without /events), every `slowMs` while it
 * is (to pick up what events do not carry), and at once when the stream connects or drops. Live
 * updates made while a fetch is in flight survive its answer (LoadSequencer).
 */
import { useCallback, useEffect, useState, type Dispatch, type SetStateAction } from 'react';
import { LoadSequencer } from '../lib/load-sequencer';
import { useLiveState } from './useLiveState';

/** What {@link useResource} returns. */
export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  /** Refetches now. */
  reload: () => Promise<void>;
  /** Replaces the data (for live events and action results). */
  setData: Dispatch<SetStateAction<T | undefined>>;
}

/** Options of {@link useResource}. */
export interface ResourceOptions {
  /** Refresh period while the live stream is down; 0 turns polling off. @defaultValue 2000 */
  fastMs?: number;
  /** Refresh period while it is up; 0 turns it off. @defaultValue 10000 */
  slowMs?: number;
}

/** Fetches with `load` (which must change only when its inputs do: wrap it in useCallback). */
export function useResource<T>(load: () => Promise<T>, options: ResourceOptions = {}): Resource<T> {
  const { fastMs = 2000, slowMs = 10000 } = options;
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const live = useLiveState();
  const [sequencer] = useState(() => new LoadSequencer<T | undefined>());

  const reload = useCallback(async () => {
    const ticket = sequencer.start();
    try {
      const settled = sequencer.settle(ticket, await load());
      if (!settled) return; // a newer load is in flight: its answer wins
      setData(() => settled.data);
      setError(undefined);
    } catch (err) {
      if (sequencer.fail(ticket)) setError(err instanceof Error ? err : new Error(String(err)));
    }
  }, [load, sequencer]);

  const update = useCallback<Dispatch<SetStateAction<T | undefined>>>(
    (action) => {
      sequencer.record(action);
      setData(action);
    },
    [sequencer],
  );

  useEffect(() => {
    setData(undefined);
    setError(undefined);
  }, [load]);

  useEffect(() => {
    void reload(); // on mount, and whenever the stream (re)connects or drops

    const period = live === 'open' ? slowMs : fastMs;
    if (period <= 0) return;
    const timer = window.setInterval(() => void reload(), period);
    return () => window.clearInterval(timer);
  }, [reload, live, fastMs, slowMs]);

  return { data, error, reload, setData: update };
}
