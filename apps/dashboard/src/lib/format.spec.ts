import {
  formatAgo,
  formatBytes,
  formatCount,
  formatDuration,
  formatNumber,
  formatPercent,
  formatWorkers,
} from './format';

describe('format', () => {
  it('counts with k/M/B suffixes', () => {
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1500)).toBe('1.5k');
    expect(formatCount(1_234_567)).toBe('1.23M');
    expect(formatCount(2e9)).toBe('2B');
    expect(formatCount(undefined)).toBe('—');
  });

  it('bytes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(497_759_232)).toBe('475 MiB');
    expect(formatBytes(-1)).toBe('—');
  });

  it('durations', () => {
    expect(formatDuration(45.4)).toBe('45s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(7620)).toBe('2h 07m');
    expect(formatDuration(3 * 86400 + 4 * 3600)).toBe('3d 4h');
    expect(formatDuration(Infinity)).toBe('—');
  });

  it('numbers and percentages', () => {
    expect(formatNumber(2.345678)).toBe('2.3457');
    expect(formatNumber(4e-4)).toBe('4.00e-4');
    expect(formatNumber(0)).toBe('0');
    expect(formatPercent(0.953)).toBe('95.3%');
    expect(formatPercent(1)).toBe('100%');
  });

  it('time ago', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    expect(formatAgo('2026-01-01T00:09:58Z', now)).toBe('just now');
    expect(formatAgo('2026-01-01T00:05:00Z', now)).toBe('5m 00s ago');
    expect(formatAgo('garbage', now)).toBe('—');
  });

  it('shows the workers a run trains on, and how many it asked for when its ring shrank', () => {
    expect(formatWorkers({ spec: { workers: 2 } })).toBe('2');
    expect(formatWorkers({ spec: { workers: 2 }, members: [{}, {}] })).toBe('2');
    expect(formatWorkers({ spec: { workers: 2 }, members: [{}] })).toBe('1 of 2');
  });
});
