// The study's ETA (src/eval/study.ts StudyClock): pre-training objectives left at the budget
// (time budgets) or the mean so far; fine-tuning runs left at the mean run so far, or, before
// any, at the pre-training speed; work reused from an earlier start neither timed nor left.
import { describe, expect, it } from 'vitest';
import { StudyClock } from '../../src/eval/study.js';

describe('study clock', () => {
  it('a time budget: the budget per objective until one is measured, then the measured mean', () => {
    // 3 objectives of 60 s, 10 fine-tuning runs of 20,000 tokens.
    const c = new StudyClock(3, 10, 60, 20_000);
    expect(c.secondsLeft()).toBeNull(); // runs: no speed known yet
    c.pretrained(70, 4000, false); // the first: 70 s at 4000 tokens/s → a run ≈ 5 s
    expect(c.secondsLeft()).toBeCloseTo(2 * 70 + 10 * 5, 9);
    c.pretrained(80, 5000, false);
    c.pretrained(0.1, 0, true); // reused: not timed
    expect(c.secondsLeft()).toBeCloseTo(10 * 5, 9);
    c.finetuned(40, 4, 0); // a grid of 4 runs in 40 s → 10 s a run
    c.finetuned(3, 0, 0); // its probe: part of the runs' cost
    expect(c.secondsLeft()).toBeCloseTo(6 * (43 / 4), 9);
    c.finetuned(0.01, 0, 2); // two runs reused
    expect(c.secondsLeft()).toBeCloseTo(4 * (43.01 / 4), 9);
  });

  it('a steps or tokens budget: unknown until an objective has been measured', () => {
    const c = new StudyClock(2, 3, null, 1000);
    expect(c.secondsLeft()).toBeNull();
    c.pretrained(30, 1000, false);
    expect(c.secondsLeft()).toBeCloseTo(30 + 3 * 1, 9);
  });
});
