// Learning-rate schedules: linear warm-up, then linear decay to zero (BERT/ELECTRA) or
// cosine decay. Pure functions of the step, so a resumed run gets the same rates.

export type ScheduleKind = 'linear' | 'cosine' | 'constant';

export interface Schedule {
  kind: ScheduleKind;
  peakLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Floor as a fraction of the peak (default 0). */
  minLrRatio?: number;
}

/** The trainer's default warm-up when none is given: 6 % of the run, at most 1000 steps. */
export function defaultWarmupSteps(totalSteps: number): number {
  return Math.min(1000, Math.round(totalSteps * 0.06));
}

/** Learning rate for optimizer step `step` (0-based: the first update uses step 0). */
export function learningRate(s: Schedule, step: number): number {
  if (!(s.peakLr >= 0)) throw new Error(`schedule: learning rate must be >= 0, got ${s.peakLr}`);
  const floor = (s.minLrRatio ?? 0) * s.peakLr;
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.peakLr * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.peakLr;
  const decaySteps = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = Math.min(1, Math.max(0, (step - s.warmupSteps) / decaySteps));
  const f = s.kind === 'linear' ? 1 - t : 0.5 * (1 + Math.cos(Math.PI * t));
  return floor + (s.peakLr - floor) * f;
}
