/** Shows whether live updates stream in, or the pages are polling. */
import type { ReactElement } from 'react';
import { useLiveState } from '../hooks/useLiveState';

const LABELS = { open: 'live', connecting: 'connecting…', down: 'polling' } as const;
const TITLES = {
  open: 'receiving server-sent events from /events',
  connecting: 'connecting to /events; pages refresh every few seconds meanwhile',
  down: 'no event stream (/events unavailable); pages refresh every few seconds',
} as const;

/** A dot and a word in the top bar. */
export function LiveIndicator(): ReactElement {
  const state = useLiveState();
  return (
    <span className={`live live-${state}`} title={TITLES[state]} data-testid="live-state">
      {LABELS[state]}
    </span>
  );
}
