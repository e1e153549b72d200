// The progress line's ETA: per run (a study or the demo trains several objectives in turn on
// one reporter), and from the rate since the run's first step, so a resumed run's earlier
// steps and the time before its first step do not count.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Progress, progressReporter } from '../../src/cli/progress.js';

function lines(): { stream: NodeJS.WriteStream; out: string[] } {
  const out: string[] = [];
  return { out, stream: { isTTY: false, write: (s: string) => out.push(s.trimEnd()) > 0 } as unknown as NodeJS.WriteStream };
}

describe('progress line', () => {
  afterEach(() => vi.restoreAllMocks());

  it('elapsed and ETA per run, from the rate since its first update', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const { stream, out } = lines();
    const p = new Progress({ label: 'pre-training', stream });
    p.restart(100);
    now = 4_000; // compiling before the first step: not part of the rate
    p.update(10, {}, true);
    expect(out.at(-1)).toContain('10/100  4s elapsed, ETA ?');
    now = 14_000;
    p.update(20, {}, true); // 10 steps in 10 s
    expect(out.at(-1)).toContain('20/100  14s elapsed, ETA 1m20s');
    // The next objective: its own clock, not the first one's 100 s.
    now = 100_000;
    p.restart(50);
    now = 101_000;
    p.update(5, {}, true);
    expect(out.at(-1)).toContain('5/50  1s elapsed, ETA ?');
    now = 106_000;
    p.update(15, {}, true); // 2 steps a second
    expect(out.at(-1)).toContain('15/50  6s elapsed, ETA 18s');
    // A resumed run starting at step 60: the 60 earlier steps took no time here.
    now = 200_000;
    p.restart(100);
    p.update(60, {}, true);
    now = 205_000;
    p.update(70, {}, true);
    expect(out.at(-1)).toContain('70/100  5s elapsed, ETA 15s');
    now = 210_000;
    p.update(100, {}, true);
    expect(out.at(-1)).toContain('100/100  10s elapsed, ETA 0s');
  });

  it('the loop reporter restarts the clock at a run\'s first total only, not when a time budget refits it', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const out: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => out.push(String(s).trimEnd()) > 0);
    const r = progressReporter('pre-training');
    r.total(100);
    now = 6_000;
    r.step(10, {});
    now = 16_000;
    r.step(20, {}); // 1 step a second
    r.total(50); // refitted: the same run, its clock goes on
    now = 22_000;
    r.step(26, {});
    expect(out.at(-1)).toContain('26/50  22s elapsed, ETA 24s');
    r.done();
    now = 30_000;
    r.total(40); // the next run
    now = 31_000;
    r.step(2, {});
    now = 37_000;
    r.step(8, {});
    expect(out.at(-1)).toContain('8/40  7s elapsed, ETA 32s');
  });
});
