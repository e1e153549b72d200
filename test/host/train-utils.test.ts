// Schedules and budgets.
import { describe, expect, it } from 'vitest';
import { learningRate } from '../../src/train/schedule.js';
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
});
