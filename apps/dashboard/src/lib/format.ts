/** Human-readable numbers, sizes, durations and times for the tables and headers. */

const DASH = '—';

/** `1234567` → `1.23M`; undefined → `—`. */
export function formatCount(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return DASH;
  const abs = Math.abs(n);
  for (const [size, unit] of [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (abs >= size) return `${trim((n / size).toPrecision(3))}${unit}`;
  }
  return String(Math.round(n));
}

/** Bytes in binary units: `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${trim(value.toPrecision(3))} ${units[i]}`;
}

/** Seconds as `45s`, `3m 05s`, `2h 07m`, `3d 4h`. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return DASH;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A loss or learning rate with sensible precision: `2.3456`, `4.00e-4`. */
export function formatNumber(x: number | undefined, digits = 4): string {
  if (x === undefined || !Number.isFinite(x)) return DASH;
  if (x !== 0 && Math.abs(x) < 1e-2) return x.toExponential(2);
  return trim(x.toFixed(digits));
}

/** A fraction as a percentage: `0.953` → `95.3%`. */
export function formatPercent(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return DASH;
  return `${trim((x * 100).toFixed(1))}%`;
}

/** Time since an ISO timestamp: `just now`, `5m ago`, … (`now` injectable for tests). */
export function formatAgo(iso: string | undefined, now: number = Date.now()): string {
  const t = iso === undefined ? NaN : Date.parse(iso);
  if (!Number.isFinite(t)) return DASH;
  const seconds = (now - t) / 1000;
  if (seconds < 5) return 'just now';
  return `${formatDuration(seconds)} ago`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Drops trailing zeros of a decimal string: `1.50` → `1.5`, `2.00` → `2`. */
function trim(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

/**
 * The workers a run trains on: its ring's size, "1 of 2" when the ring shrank below the workers asked
 * for (a resumed run takes the free workers), the number asked for before a ring formed.
 */
export function formatWorkers(run: { spec: { workers: number }; members?: readonly unknown[] }): string {
  const asked = run.spec.workers;
  const now = run.members?.length;
  if (now === undefined || now === asked) return String(asked);
  return `${now} of ${asked}`;
}
