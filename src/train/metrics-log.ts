// The run's metrics log: one JSON object per line (JSONL), appended and flushed per write,
// so a crash loses at most the line being written.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../data/atomic.js';

export class MetricsLog {
  constructor(readonly path: string) {}

  write(record: Record<string, unknown>): void {
    appendFileSync(this.path, JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n');
  }

  /** Every record; a final partial line (from a crash) is ignored. */
  static read(path: string): Record<string, unknown>[] {
    if (!existsSync(path)) return [];
    const out: Record<string, unknown>[] = [];
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      try {
        out.push(JSON.parse(line));
      } catch (e) {
        if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim())) throw new Error(`${path}:${i + 1}: corrupt metrics line (${(e as Error).message})`);
      }
    });
    return out;
  }

  /**
   * A resume from `step`: drop the records of steps after it (the steps about to be run
   * again), rewriting the file atomically, and mark the resume, so every step appears once.
   */
  truncateAfter(step: number, record: Record<string, unknown>): void {
    const kept = MetricsLog.read(this.path).filter((r) => !(typeof r.step === 'number' && r.step > step));
    writeFileAtomic(this.path, kept.map((r) => JSON.stringify(r) + '\n').join(''));
    this.write(record);
  }
}
