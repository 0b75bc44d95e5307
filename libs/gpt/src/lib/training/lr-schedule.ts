import { ConfigError } from '../errors/forge-error';

/** Learning-rate schedule: linear warmup, then constant or cosine decay (the book's appendix D). */
export interface LrSchedule {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Floor of the cosine decay. @defaultValue lr / 10 in the CLI */
  minLr: number;
  /** Steps of linear warmup from lr/warmupSteps to lr. @defaultValue 0 */
  warmupSteps: number;
  /** Total optimizer steps (the cosine reaches minLr at the last one). */
  totalSteps: number;
  /** 'constant' keeps lr after warmup; 'cosine' decays it to minLr. */
  schedule: 'constant' | 'cosine';
}

/** Checks a schedule's fields; throws a ConfigError naming the bad one. */
export function validateSchedule(s: LrSchedule): LrSchedule {
  if (!(s.lr > 0)) throw new ConfigError('lr', s.lr, 'a positive number');
  if (!(s.minLr >= 0 && s.minLr <= s.lr)) throw new ConfigError('min-lr', s.minLr, `in [0, lr=${s.lr}]`);
  if (!(Number.isInteger(s.warmupSteps) && s.warmupSteps >= 0)) {
    throw new ConfigError('warmup-steps', s.warmupSteps, 'a non-negative integer');
  }
  if (s.schedule !== 'constant' && s.schedule !== 'cosine') {
    throw new ConfigError('schedule', s.schedule, 'constant or cosine');
  }
  return s;
}

/** The learning rate of 0-based optimizer step `step`. */
export function learningRate(step: number, s: LrSchedule): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.schedule === 'constant') return s.lr;
  const decaySteps = Math.max(1, s.totalSteps - 1 - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / decaySteps);
  return s.minLr + (s.lr - s.minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
