// A progress line on stderr: redrawn in place on a terminal, printed every few seconds
// otherwise (logs and CI), so long jobs say where they are without flooding output.
import type { LoopReporter } from '../train/loop.js';

export interface ProgressOptions {
  total?: number;
  label: string;
  /** Minimum milliseconds between non-TTY lines. */
  logEveryMs?: number;
  stream?: NodeJS.WriteStream;
}

/** 45s, 7m05s, 1h02m. */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export class Progress {
  private start = performance.now();
  // The rate behind the ETA is measured from the first update of a run on, so neither the
  // steps a resumed run starts at nor the time before its first step count.
  private first: { done: number; at: number } | null = null;
  private lastDraw = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private lastLine = '';

  constructor(private o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** The units the run spans (again when a time budget refits it). */
  setTotal(total: number): void {
    this.o.total = total;
  }

  /** A new run of `total` units on the same line: its elapsed time and ETA start here. */
  restart(total: number): void {
    this.o.total = total;
    this.start = performance.now();
    this.first = null;
    this.lastDraw = 0;
  }

  /** Report `done` units of the total, with extra fields (e.g. loss, tokens/s). */
  update(done: number, fields: Record<string, string | number> = {}, force = false): void {
    const now = performance.now();
    this.first ??= { done, at: now };
    const every = this.tty ? 100 : this.o.logEveryMs ?? 5000;
    if (!force && now - this.lastDraw < every) return;
    this.lastDraw = now;
    const elapsed = (now - this.start) / 1000;
    const parts = [this.o.label];
    if (this.o.total) {
      const frac = Math.min(1, done / this.o.total);
      const width = 24;
      const filled = Math.round(frac * width);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.o.total}`);
      const rate = done > this.first.done ? (done - this.first.done) / ((now - this.first.at) / 1000) : 0;
      const eta = done >= this.o.total ? 0 : rate > 0 ? (this.o.total - done) / rate : Infinity;
      parts.push(`${fmtDuration(elapsed)} elapsed, ETA ${fmtDuration(eta)}`);
    } else {
      parts.push(`${done}`, fmtDuration(elapsed));
    }
    for (const [k, v] of Object.entries(fields)) parts.push(`${k} ${typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(4)) : v}`);
    const line = parts.join('  ');
    this.lastLine = line;
    if (this.tty) this.stream.write(`\r\x1b[K${line}`);
    else this.stream.write(line + '\n');
  }

  /** Finish the line (TTY) so later output starts on a fresh line. */
  done(): void {
    if (this.tty && this.lastLine) this.stream.write('\n');
  }
}

/** The training loop's reporter on stderr: a progress line (none when quiet) and messages. */
export function progressReporter(label: string, opts: { quiet?: boolean } = {}): LoopReporter {
  const progress = new Progress({ label });
  // A study (or the demo) trains several runs in turn on one reporter: the first total of a
  // run restarts the line's clock, a later one (a time budget refitted) only changes it.
  let running = false;
  return {
    total: (steps) => {
      if (running) progress.setTotal(steps);
      else progress.restart(steps);
      running = true;
    },
    step: (step, fields) => {
      if (!opts.quiet) progress.update(step, fields);
    },
    done: () => {
      running = false;
      progress.done();
    },
    message: (text) => process.stderr.write(text + '\n'),
  };
}
