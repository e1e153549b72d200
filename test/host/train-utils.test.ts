// Schedules and budgets.
import { describe, expect, it } from 'vitest';
import { defaultWarmupSteps, learningRate, type Schedule, type ScheduleKind } from '../../src/train/schedule.js';
import { parseBudget, stepsForBudget } from '../../src/train/budget.js';

describe('learning-rate schedule', () => {
  it('warms up linearly, then decays linearly to zero', () => {
    const s = { kind: 'linear' as const, peakLr: 1e-3, warmupSteps: 10, totalSteps: 110 };
    expect(learningRate(s, 0)).toBeCloseTo(1e-4, 12);
    expect(learningRate(s, 9)).toBeCloseTo(1e-3, 12);
    expect(learningRate(s, 60)).toBeCloseTo(0.5e-3, 12);
    expect(learningRate(s, 110)).toBe(0);
    expect(learningRate(s, 500)).toBe(0);
  });

  it('cosine decays through half the peak at mid-decay and respects a floor', () => {
    const s = { kind: 'cosine' as const, peakLr: 2, warmupSteps: 0, totalSteps: 100, minLrRatio: 0.1 };
    expect(learningRate(s, 0)).toBeCloseTo(2, 12);
    expect(learningRate(s, 50)).toBeCloseTo(0.2 + 1.8 * 0.5, 12);
    expect(learningRate(s, 100)).toBeCloseTo(0.2, 12);
  });
});

// Boundaries of every schedule: 10 warm-up steps, then 100 decay steps (steps 10..109).
// 13 digits: the values are of order 1, so this is ~100 ulp, far below any one-step error.
describe('learning-rate schedule at its boundaries', () => {
  const at = (kind: ScheduleKind, extra: Partial<Schedule> = {}) => (step: number) => learningRate({ kind, peakLr: 2, warmupSteps: 10, totalSteps: 110, ...extra }, step);
  const close = (got: number, want: number) => expect(got).toBeCloseTo(want, 13);

  for (const kind of ['linear', 'cosine', 'constant'] as const)
    it(`${kind}: warm-up reaches the peak exactly at its last step and hands over at step warmupSteps`, () => {
      const lr = at(kind);
      close(lr(0), 2 / 10);
      close(lr(1), (2 * 2) / 10);
      expect(lr(9)).toBe(2); // the last warm-up step (warmupSteps - 1) is the peak
      expect(lr(10)).toBe(2); // the first decay step is the peak too; a warm-up one step late gives 2.2
    });

  it('linear decays by peak / decaySteps per step, to zero at totalSteps', () => {
    const lr = at('linear');
    close(lr(11), 2 * (99 / 100));
    close(lr(12), 2 * (98 / 100));
    close(lr(109), 2 * (1 / 100));
    expect(lr(110)).toBe(0);
    expect(lr(111)).toBe(0);
  });

  it('cosine follows ½(1 + cos πt) over the decay steps, ending at zero or at the floor', () => {
    const cos = (k: number) => 0.5 * (1 + Math.cos((Math.PI * k) / 100)); // k decay steps taken
    for (const [ratio, floor] of [[undefined, 0], [0.1, 0.2]] as const) {
      const lr = at('cosine', { minLrRatio: ratio });
      expect(lr(10)).toBe(2);
      close(lr(11), floor + (2 - floor) * cos(1));
      close(lr(12), floor + (2 - floor) * cos(2));
      close(lr(60), floor + (2 - floor) / 2);
      close(lr(109), floor + (2 - floor) * cos(99));
      expect(lr(110)).toBe(floor);
      expect(lr(1000)).toBe(floor);
    }
  });

  it('constant stays at the peak through totalSteps and beyond', () => {
    const lr = at('constant');
    for (const step of [10, 11, 12, 109, 110, 10_000]) expect(lr(step)).toBe(2);
  });

  it('without warm-up the first step uses the peak', () => {
    for (const kind of ['linear', 'cosine', 'constant'] as const) expect(at(kind, { warmupSteps: 0 })(0)).toBe(2);
    const lr = at('linear', { warmupSteps: 0 });
    close(lr(1), 2 * (109 / 110));
    close(lr(109), 2 * (1 / 110));
    expect(lr(110)).toBe(0);
  });

  it("the trainer's default warm-up is 6 % of the run, rounded, at most 1000 steps", () => {
    expect(defaultWarmupSteps(100)).toBe(6);
    expect(defaultWarmupSteps(110)).toBe(7); // 6.6 rounds up
    expect(defaultWarmupSteps(8)).toBe(0); // 0.48: no warm-up
    expect(defaultWarmupSteps(9)).toBe(1); // 0.54
    expect(defaultWarmupSteps(16_658)).toBe(999); // 999.48
    expect(defaultWarmupSteps(16_659)).toBe(1000); // 999.54
    expect(defaultWarmupSteps(1_000_000)).toBe(1000);
  });
});

describe('budgets', () => {
  it('parses steps, tokens and time', () => {
    expect(parseBudget('2000')).toEqual({ kind: 'steps', steps: 2000 });
    expect(parseBudget('20k steps')).toEqual({ kind: 'steps', steps: 20000 });
    expect(parseBudget('5M tokens')).toEqual({ kind: 'tokens', tokens: 5e6 });
    expect(parseBudget('10m')).toEqual({ kind: 'time', seconds: 600 });
    expect(parseBudget('1h30m')).toEqual({ kind: 'time', seconds: 5400 });
    expect(parseBudget('90s')).toEqual({ kind: 'time', seconds: 90 });
  });

  it('rejects nonsense with a message that shows the accepted forms', () => {
    for (const bad of ['', 'soon', '-5', '0', '10 parsecs']) expect(() => parseBudget(bad)).toThrow(/invalid budget .*steps .*tokens .*time/);
  });

  it('converts a budget to a step count', () => {
    expect(stepsForBudget({ kind: 'tokens', tokens: 1e6 }, 4096)).toBe(244);
    expect(stepsForBudget({ kind: 'time', seconds: 60 }, 4096, 0.25)).toBe(240);
    expect(() => stepsForBudget({ kind: 'time', seconds: 60 }, 4096)).toThrow(/measured step time/);
  });

  it('takes whole steps only (floor), and at least one', () => {
    const tokensPerStep = 8 * 2 * 128; // batch × accumulate × seqLen, as the trainer passes it
    const tokens = (n: number) => stepsForBudget({ kind: 'tokens', tokens: n }, tokensPerStep);
    expect(tokens(3 * tokensPerStep)).toBe(3);
    expect(tokens(3 * tokensPerStep - 1)).toBe(2);
    expect(tokens(3 * tokensPerStep + 1)).toBe(3);
    expect(tokens(4 * tokensPerStep - 1)).toBe(3);
    expect(tokens(100)).toBe(1); // less than one step's tokens still trains one step
    // Seconds and step times that are exact in binary, so the quotients are exact.
    const time = (seconds: number) => stepsForBudget({ kind: 'time', seconds }, tokensPerStep, 0.25);
    expect(time(60)).toBe(240);
    expect(time(59.875)).toBe(239); // 239.5
    expect(time(60.125)).toBe(240); // 240.5
    expect(time(0.125)).toBe(1);
    expect(stepsForBudget({ kind: 'steps', steps: 7 }, tokensPerStep)).toBe(7);
    expect(() => stepsForBudget({ kind: 'time', seconds: 60 }, tokensPerStep, 0)).toThrow(/measured step time/);
  });
});
